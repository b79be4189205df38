package mesh

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// realisticMeta is a node with long but plausible production URLs.
func realisticMeta() Meta {
	return Meta{
		NodeID:        "regiond-ap-southeast-2-7f9c4b6d8-xk2pq",
		Region:        "ap-southeast-2",
		Roles:         []string{"gateway", "matcher", "controller"},
		NATSClientURL: "nats://regiond-ap-southeast-2-7f9c4b6d8-xk2pq.geomesh.internal.example.com:4222",
		NATSRouteURL:  "nats-route://regiond-ap-southeast-2-7f9c4b6d8-xk2pq.geomesh.internal.example.com:6222",
		HTTPURL:       "https://ap-southeast-2.api.geomesh.example.com:8443",
		AdminURL:      "https://regiond-ap-southeast-2-7f9c4b6d8-xk2pq.geomesh.internal.example.com:9443",
		Version:       "v1.12.3-rc.2+g3f9a2c1",
	}
}

func TestMetaRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		meta Meta
	}{
		{"minimal", Meta{NodeID: "a", Region: "us-east"}},
		{"realistic", realisticMeta()},
		{"unicode", Meta{NodeID: "nœud-1", Region: "eu-west", Roles: []string{"gateway"}, Version: "β"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := EncodeMeta(tt.meta)
			if err != nil {
				t.Fatalf("EncodeMeta: %v", err)
			}
			if len(b) > MetaMaxSize {
				t.Fatalf("encoded %d bytes, limit %d", len(b), MetaMaxSize)
			}
			got, err := DecodeMeta(b)
			if err != nil {
				t.Fatalf("DecodeMeta: %v", err)
			}
			if !got.equal(tt.meta) {
				t.Fatalf("round trip = %+v, want %+v", got, tt.meta)
			}
		})
	}
}

func TestRealisticMetaFits(t *testing.T) {
	m := realisticMeta()
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	b, _ := EncodeMeta(m)
	t.Logf("realistic meta encodes to %d of %d bytes", len(b), MetaMaxSize)
	if len(b) > MetaMaxSize {
		t.Errorf("realistic meta takes %d bytes, limit %d", len(b), MetaMaxSize)
	}
}

func TestDecodeMetaRefuses(t *testing.T) {
	good, err := EncodeMeta(Meta{NodeID: "n1", Region: "us-east", Roles: []string{"gateway"}})
	if err != nil {
		t.Fatal(err)
	}
	tooManyRoles := []byte{metaVersion, 1, 'n', 2, 'u', 's', maxRoles + 1}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"wrong version", append([]byte{2}, good[1:]...), "version 2"},
		{"truncated", good[:len(good)-1], "truncated"},
		{"trailing bytes", append(append([]byte(nil), good...), 0), "trailing"},
		{"too large", bytes.Repeat([]byte{1}, MetaMaxSize+1), "limit 512"},
		{"too many roles", tooManyRoles, "roles, limit"},
		{"invalid utf8", []byte{metaVersion, 1, 0xff, 0, 0, 0, 0, 0, 0, 0}, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMeta(tt.in)
			if !errors.Is(err, ErrBadMeta) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("DecodeMeta = %v, want ErrBadMeta containing %q", err, tt.want)
			}
		})
	}
}

func FuzzDecodeMeta(f *testing.F) {
	for _, m := range []Meta{{NodeID: "a", Region: "us-east"}, realisticMeta()} {
		b, err := EncodeMeta(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{metaVersion, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			if !errors.Is(err, ErrBadMeta) {
				t.Fatalf("error %v does not wrap ErrBadMeta", err)
			}
			return
		}
		// Whatever decodes is canonical: it re-encodes to the same bytes.
		again, err := EncodeMeta(m)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", b, again)
		}
	})
}
