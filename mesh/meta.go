package mesh

import (
	"fmt"
	"regexp"
	"unicode/utf8"
)

// MetaMaxSize is memberlist's limit on node metadata; an encoded Meta must fit in it.
const MetaMaxSize = 512

// metaVersion is the first byte of every encoded Meta. A decoder refuses other versions; a
// future version must keep nodes of the previous one decodable during a rolling upgrade.
const metaVersion byte = 1

// maxRoles bounds the role list so a hostile peer cannot make the decoder allocate much.
const maxRoles = 16

var regionRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}$`)

// Meta is what a node tells the mesh about itself. It travels in memberlist node metadata,
// encoded by EncodeMeta; the encoding must fit in MetaMaxSize bytes.
type Meta struct {
	NodeID string   // stable node identity; the default memberlist node name
	Region string   // region name, ^[a-z][a-z0-9-]{1,30}$
	Roles  []string // e.g. "gateway", "matcher", "controller"
	// NATSClientURL is where clients reach the node's embedded NATS server.
	NATSClientURL string
	// NATSRouteURL is where other servers route to the node's embedded NATS server.
	NATSRouteURL string
	HTTPURL      string // client-facing HTTP API
	AdminURL     string // admin API used by meshctl
	Version      string // build version of the node
}

// HasRole reports whether the node has the named role.
func (m Meta) HasRole(role string) bool {
	for _, r := range m.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Validate checks what a node must advertise: a node id, a well-formed region, and an encoding
// that fits in MetaMaxSize.
func (m Meta) Validate() error {
	if m.NodeID == "" {
		return fmt.Errorf("%w: node id is empty", ErrBadMeta)
	}
	if !regionRE.MatchString(m.Region) {
		return fmt.Errorf("%w: region %q does not match %s", ErrBadMeta, m.Region, regionRE)
	}
	if _, err := EncodeMeta(m); err != nil {
		return err
	}
	return nil
}

func (m Meta) clone() Meta {
	if m.Roles != nil {
		m.Roles = append([]string(nil), m.Roles...)
	}
	return m
}

func (m Meta) equal(o Meta) bool {
	if m.NodeID != o.NodeID || m.Region != o.Region || m.NATSClientURL != o.NATSClientURL ||
		m.NATSRouteURL != o.NATSRouteURL || m.HTTPURL != o.HTTPURL || m.AdminURL != o.AdminURL ||
		m.Version != o.Version || len(m.Roles) != len(o.Roles) {
		return false
	}
	for i := range m.Roles {
		if m.Roles[i] != o.Roles[i] {
			return false
		}
	}
	return true
}

// EncodeMeta encodes m compactly: a version byte, then each string as a one-byte length and
// its UTF-8 bytes in field order (NodeID, Region, role count and roles, NATSClientURL,
// NATSRouteURL, HTTPURL, AdminURL, Version). Every string is at most 255 bytes and the whole
// encoding at most MetaMaxSize bytes.
func EncodeMeta(m Meta) ([]byte, error) {
	if len(m.Roles) > maxRoles {
		return nil, fmt.Errorf("%w: %d roles, limit %d", ErrBadMeta, len(m.Roles), maxRoles)
	}
	b := make([]byte, 0, 128)
	b = append(b, metaVersion)
	var err error
	put := func(name, s string) {
		if err != nil {
			return
		}
		if len(s) > 255 {
			err = fmt.Errorf("%w: %s is %d bytes, limit 255", ErrBadMeta, name, len(s))
			return
		}
		if !utf8.ValidString(s) {
			err = fmt.Errorf("%w: %s is not valid UTF-8", ErrBadMeta, name)
			return
		}
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	put("node id", m.NodeID)
	put("region", m.Region)
	if err == nil {
		b = append(b, byte(len(m.Roles)))
	}
	for _, r := range m.Roles {
		put("role", r)
	}
	put("nats client url", m.NATSClientURL)
	put("nats route url", m.NATSRouteURL)
	put("http url", m.HTTPURL)
	put("admin url", m.AdminURL)
	put("version", m.Version)
	if err != nil {
		return nil, err
	}
	if len(b) > MetaMaxSize {
		return nil, fmt.Errorf("%w: encoded %d bytes, limit %d", ErrBadMeta, len(b), MetaMaxSize)
	}
	return b, nil
}

// DecodeMeta decodes what EncodeMeta produced. It treats b as untrusted network input:
// wrong version, truncation, trailing bytes, oversize input, too many roles or invalid UTF-8
// are refused with an error wrapping ErrBadMeta. It does not check the region format
// (Meta.Validate does) so that a node with an odd region still shows up as a member.
func DecodeMeta(b []byte) (Meta, error) {
	var m Meta
	if len(b) == 0 {
		return m, fmt.Errorf("%w: empty", ErrBadMeta)
	}
	if len(b) > MetaMaxSize {
		return m, fmt.Errorf("%w: %d bytes, limit %d", ErrBadMeta, len(b), MetaMaxSize)
	}
	if b[0] != metaVersion {
		return m, fmt.Errorf("%w: version %d, want %d", ErrBadMeta, b[0], metaVersion)
	}
	d := metaDecoder{b: b[1:]}
	m.NodeID = d.str("node id")
	m.Region = d.str("region")
	if n := d.byte("role count"); n > maxRoles {
		d.fail(fmt.Errorf("%w: %d roles, limit %d", ErrBadMeta, n, maxRoles))
	} else if n > 0 && d.err == nil {
		m.Roles = make([]string, n)
		for i := range m.Roles {
			m.Roles[i] = d.str("role")
		}
	}
	m.NATSClientURL = d.str("nats client url")
	m.NATSRouteURL = d.str("nats route url")
	m.HTTPURL = d.str("http url")
	m.AdminURL = d.str("admin url")
	m.Version = d.str("version")
	if d.err == nil && len(d.b) > 0 {
		d.fail(fmt.Errorf("%w: %d trailing bytes", ErrBadMeta, len(d.b)))
	}
	if d.err != nil {
		return Meta{}, d.err
	}
	return m, nil
}

type metaDecoder struct {
	b   []byte
	err error
}

func (d *metaDecoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *metaDecoder) byte(what string) int {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail(fmt.Errorf("%w: truncated at %s", ErrBadMeta, what))
		return 0
	}
	n := int(d.b[0])
	d.b = d.b[1:]
	return n
}

func (d *metaDecoder) str(what string) string {
	n := d.byte(what)
	if d.err != nil {
		return ""
	}
	if len(d.b) < n {
		d.fail(fmt.Errorf("%w: truncated in %s", ErrBadMeta, what))
		return ""
	}
	s := d.b[:n]
	d.b = d.b[n:]
	if !utf8.Valid(s) {
		d.fail(fmt.Errorf("%w: %s is not valid UTF-8", ErrBadMeta, what))
		return ""
	}
	return string(s)
}
