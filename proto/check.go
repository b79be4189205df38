package proto

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"unicode"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Limits of the structural checks.
const (
	// MaxID is the largest order, trade or depth update id: ids stay below 2^53 so that JSON
	// clients read them exactly.
	MaxID = 1<<53 - 1
	// MaxRequestIDLen bounds Command.request_id (also used as Nats-Msg-Id), node ids, actors and
	// other names checked by checkName.
	MaxRequestIDLen = maxNameLen
	maxNameLen      = 128
)

var (
	// symbolRe: Binance symbol characters minus '.', which would split NATS subjects and is not
	// allowed in stream names (CMD_<SYMBOL>).
	symbolRe = regexp.MustCompile(`^[A-Z0-9_-]{1,20}$`)
	// clientOrderIDRe: Binance newClientOrderId.
	clientOrderIDRe = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,36}$`)
	// keyRe: names that become KV keys or subject tokens (regions, plan ids, API and listen keys).
	keyRe = regexp.MustCompile(`^[A-Za-z0-9_=-][A-Za-z0-9_=.-]{0,127}$`)
	// decimalRe: a non-negative decimal string without exponent.
	decimalRe = regexp.MustCompile(`^[0-9]{1,20}(\.[0-9]{1,20})?$`)
)

// invalid builds an error wrapping ErrInvalid that names the offending field.
func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", field, fmt.Sprintf(format, args...), ErrInvalid)
}

// within prefixes the field path of an error returned by a nested check.
func within(path string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s.%w", path, err)
}

func knownEnum(e protoreflect.Enum) bool {
	return e.Descriptor().Values().ByNumber(e.Number()) != nil
}

// checkEnum accepts any declared value, including UNSPECIFIED.
func checkEnum(field string, e protoreflect.Enum) error {
	if !knownEnum(e) {
		return invalid(field, "unknown %s value %d", e.Descriptor().Name(), e.Number())
	}
	return nil
}

// checkSetEnum accepts a declared value other than UNSPECIFIED.
func checkSetEnum(field string, e protoreflect.Enum) error {
	if e.Number() == 0 {
		return invalid(field, "not set")
	}
	return checkEnum(field, e)
}

func checkSymbol(field, s string) error {
	if !symbolRe.MatchString(s) {
		return invalid(field, "symbol %q is not 1-20 of [A-Z0-9_-]", s)
	}
	return nil
}

func checkClientOrderID(field, s string) error {
	if !clientOrderIDRe.MatchString(s) {
		return invalid(field, "client order id %q is not 1-36 of [A-Za-z0-9._:/-]", s)
	}
	return nil
}

// checkOptClientOrderID accepts an empty id.
func checkOptClientOrderID(field, s string) error {
	if s == "" {
		return nil
	}
	return checkClientOrderID(field, s)
}

func checkKey(field, s string) error {
	if !keyRe.MatchString(s) {
		return invalid(field, "%q is not 1-128 of [A-Za-z0-9_=.-] (not starting with '.')", s)
	}
	return nil
}

func checkOptKey(field, s string) error {
	if s == "" {
		return nil
	}
	return checkKey(field, s)
}

// checkName accepts 1-128 printable characters without spaces (node ids, actors, subjects).
func checkName(field, s string) error {
	if s == "" || len(s) > maxNameLen {
		return invalid(field, "length %d not in 1-%d", len(s), maxNameLen)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return invalid(field, "%q has a space or control character", s)
		}
	}
	return nil
}

func checkOptName(field, s string) error {
	if s == "" {
		return nil
	}
	return checkName(field, s)
}

func checkAccount(field string, a uint64) error {
	if a == 0 {
		return invalid(field, "account 0")
	}
	return nil
}

func checkNonNeg(field string, v int64) error {
	if v < 0 {
		return invalid(field, "negative %d", v)
	}
	return nil
}

func checkPositive(field string, v int64) error {
	if v <= 0 {
		return invalid(field, "%d not positive", v)
	}
	return nil
}

// checkID accepts 1..MaxID.
func checkID(field string, id uint64) error {
	if id == 0 || id > MaxID {
		return invalid(field, "id %d not in 1..2^53-1", id)
	}
	return nil
}

// checkOptID accepts 0 (none) or a valid id.
func checkOptID(field string, id uint64) error {
	if id == 0 {
		return nil
	}
	return checkID(field, id)
}

func checkDecimal(field, s string, positive bool) error {
	if !decimalRe.MatchString(s) {
		return invalid(field, "%q is not a decimal", s)
	}
	if positive {
		for _, c := range s {
			if c >= '1' && c <= '9' {
				return nil
			}
		}
		return invalid(field, "%q is not positive", s)
	}
	return nil
}

func checkOptDecimal(field, s string) error {
	if s == "" {
		return nil
	}
	return checkDecimal(field, s, false)
}

func checkURL(field, s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return invalid(field, "%q is not an absolute URL", s)
	}
	return nil
}

func checkRate(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return invalid(field, "rate %v not a finite non-negative number", v)
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
