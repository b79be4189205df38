package matcher

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

func testSpec(t testing.TB) Spec {
	t.Helper()
	d := decimal.RequireFromString
	s := Spec{
		Symbol: "BTCUSDT", BaseAsset: "BTC", QuoteAsset: "USDT",
		TickSize: d("0.01"), StepSize: d("0.00001"),
		MinPrice: d("0.01"), MaxPrice: d("1000000"), MinQty: d("0.00001"), MaxQty: d("9000"),
		MinNotional: d("5"), MaxNotional: d("9000000"), MaxNumOrders: 200,
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParse(t *testing.T) {
	s := testSpec(t)
	tests := []struct {
		name  string
		parse func(string) (int64, error)
		in    string
		want  int64
		err   error
	}{
		{"price", s.ParsePrice, "123.45", 12345, nil},
		{"price trailing zeros", s.ParsePrice, "123.4500000", 12345, nil},
		{"price integer", s.ParsePrice, "7", 700, nil},
		{"price zero", s.ParsePrice, "0", 0, nil},
		{"price zero decimals", s.ParsePrice, "0.00", 0, nil},
		{"price too many decimals", s.ParsePrice, "1.001", 0, ErrPricePrecision},
		{"price negative", s.ParsePrice, "-1.00", 0, ErrIllegalPrice},
		{"price exponent", s.ParsePrice, "1e3", 0, ErrIllegalPrice},
		{"price empty", s.ParsePrice, "", 0, ErrIllegalPrice},
		{"price dot only", s.ParsePrice, ".5", 0, ErrIllegalPrice},
		{"price trailing dot", s.ParsePrice, "5.", 0, ErrIllegalPrice},
		{"price spaces", s.ParsePrice, " 5", 0, ErrIllegalPrice},
		{"price 21 digits", s.ParsePrice, "123456789012345678901", 0, ErrIllegalPrice},
		{"price overflow", s.ParsePrice, "99999999999999999999", 0, ErrPriceFilter},
		{"price max int64 ticks", s.ParsePrice, "92233720368547758.07", 1<<63 - 1, nil},
		{"price one past int64", s.ParsePrice, "92233720368547758.08", 0, ErrPriceFilter},
		{"qty", s.ParseQty, "0.00123", 123, nil},
		{"qty too many decimals", s.ParseQty, "0.000001", 0, ErrQtyPrecision},
		{"qty negative", s.ParseQty, "-0.1", 0, ErrIllegalQty},
		{"qty zero", s.ParseQty, "0.00000", 0, nil},
		{"qty overflow", s.ParseQty, "99999999999999999999", 0, ErrLotSize},
		{"quote", s.ParseQuoteQty, "10.5", 105000000, nil},
		{"quote finest", s.ParseQuoteQty, "0.0000001", 1, nil},
		{"quote too many decimals", s.ParseQuoteQty, "0.00000001", 0, ErrQuotePrecision},
		{"quote illegal", s.ParseQuoteQty, "1,5", 0, ErrIllegalQuoteQty},
		{"quote overflow", s.ParseQuoteQty, "99999999999999999999", 0, ErrNotional},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("parse(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
			}
			var ce *CodeError
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("error %v carries no code", err)
			}
		})
	}
}

func TestParseNotMultipleOfTick(t *testing.T) {
	s := testSpec(t)
	s.TickSize = decimal.RequireFromString("0.05")
	if _, err := s.ParsePrice("1.03"); !errors.Is(err, ErrPriceFilter) {
		t.Fatalf("1.03 with tick 0.05: %v, want PRICE_FILTER", err)
	}
	if got, err := s.ParsePrice("1.05"); err != nil || got != 21 {
		t.Fatalf("1.05 with tick 0.05 = %d, %v; want 21", got, err)
	}
}

func TestFormat(t *testing.T) {
	s := testSpec(t)
	tests := []struct {
		name   string
		format func(int64) string
		in     int64
		want   string
	}{
		{"price", s.FormatPrice, 12345, "123.45000000"},
		{"price zero", s.FormatPrice, 0, "0.00000000"},
		{"price max", s.FormatPrice, 1<<63 - 1, "92233720368547758.07000000"},
		{"qty", s.FormatQty, 123, "0.00123000"},
		{"quote", s.FormatQuote, 105000000, "10.50000000"},
		{"quote finest", s.FormatQuote, 1, "0.00000010"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.format(tt.in); got != tt.want {
				t.Fatalf("format(%d) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseFormatRoundTrip(t *testing.T) {
	s := testSpec(t)
	for _, v := range []int64{0, 1, 99, 100, 12345678, 1 << 40} {
		if got, err := s.ParsePrice(s.FormatPrice(v)); err != nil || got != v {
			t.Errorf("price %d: %d, %v", v, got, err)
		}
		if got, err := s.ParseQty(s.FormatQty(v)); err != nil || got != v {
			t.Errorf("qty %d: %d, %v", v, got, err)
		}
		if got, err := s.ParseQuoteQty(s.FormatQuote(v)); err != nil || got != v {
			t.Errorf("quote %d: %d, %v", v, got, err)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	d := decimal.RequireFromString
	tests := []struct {
		name string
		mod  func(*Spec)
		ok   bool
	}{
		{"valid", func(*Spec) {}, true},
		{"zero tick", func(s *Spec) { s.TickSize = d("0") }, false},
		{"negative step", func(s *Spec) { s.StepSize = d("-0.1") }, false},
		{"min price not multiple of tick", func(s *Spec) { s.MinPrice = d("0.015") }, false},
		{"zero min price", func(s *Spec) { s.MinPrice = d("0") }, false},
		{"max below min", func(s *Spec) { s.MaxPrice = d("0.001"); s.MinPrice = d("0.01") }, false},
		{"zero min qty", func(s *Spec) { s.MinQty = d("0") }, false},
		{"price*qty overflows", func(s *Spec) { s.MaxPrice = d("100000000000"); s.MaxQty = d("100000000") }, false},
		{"max notional below min", func(s *Spec) { s.MaxNotional = d("1") }, false},
		{"negative max orders", func(s *Spec) { s.MaxNumOrders = -1 }, false},
		{"huge exponent", func(s *Spec) { s.MaxPrice = decimal.New(1, 999999999) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSpec(t)
			tt.mod(&s)
			err := s.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidSpec)) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "1.5", "123.45000", "-1", "1e9", "99999999999999999999.99999999999999999999", ".", ""} {
		f.Add(s)
	}
	s := testSpec(f)
	f.Fuzz(func(t *testing.T, in string) {
		for _, p := range []func(string) (int64, error){s.ParsePrice, s.ParseQty, s.ParseQuoteQty} {
			v, err := p(in)
			var ce *CodeError
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("%q: error without code: %v", in, err)
			}
			if err == nil && v < 0 {
				t.Fatalf("%q parsed to negative %d", in, v)
			}
		}
		if v, err := s.ParsePrice(in); err == nil {
			if back, err := s.ParsePrice(s.FormatPrice(v)); err != nil || back != v {
				t.Fatalf("%q -> %d -> %q -> %d, %v", in, v, s.FormatPrice(v), back, err)
			}
		}
	})
}
