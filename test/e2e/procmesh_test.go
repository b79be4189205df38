package e2e

import (
	"errors"
	"testing"
	"time"

	"github.com/geomesh/geomesh/test/deptest"
)

func TestImports(t *testing.T) {
	deptest.Check(t, ".", "github.com/geomesh/geomesh", "github.com/nats-io/nats.go")
}

func TestLineTime(t *testing.T) {
	tests := []struct {
		line    string
		want    time.Time
		wantErr bool
	}{
		{`time=2026-03-01T10:20:30.123+01:00 level=INFO msg="region state" region=us-east state=down`,
			time.Date(2026, 3, 1, 9, 20, 30, 123e6, time.UTC), false},
		{`time=2026-03-01T10:20:30Z level=INFO msg=x`, time.Date(2026, 3, 1, 10, 20, 30, 0, time.UTC), false},
		{`level=INFO msg=x`, time.Time{}, true},
		{`time=yesterday level=INFO`, time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := LineTime(tt.line)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("LineTime(%q) = %v, %v; want %v, error %v", tt.line, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFindLine(t *testing.T) {
	log := "time=1 msg=node_started\ntime=2 msg=\"region state\" region=eu-west region=us-east state=suspect\n" +
		"time=3 msg=\"region state\" region=eu-west region=us-east state=down\n"
	tests := []struct {
		parts []string
		want  string
	}{
		{[]string{"state=down"}, `time=3 msg="region state" region=eu-west region=us-east state=down`},
		{[]string{`msg="region state"`, "region=us-east"}, `time=2 msg="region state" region=eu-west region=us-east state=suspect`},
		{[]string{"msg=node_started", "state=down"}, ""},
		{[]string{"msg=node_ready"}, ""},
	}
	for _, tt := range tests {
		if got := FindLine(log, tt.parts...); got != tt.want {
			t.Errorf("FindLine(%q) = %q, want %q", tt.parts, got, tt.want)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5}, 5},
		{[]time.Duration{9, 1, 5}, 5},
		{[]time.Duration{4, 1, 3, 2}, 2},
		{[]time.Duration{7, 7, 1, 9, 8}, 7},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPoll(t *testing.T) {
	n := 0
	if err := Poll(time.Second, time.Millisecond, func() error {
		if n++; n < 3 {
			return ErrExited
		}
		return nil
	}); err != nil || n != 3 {
		t.Errorf("Poll: %v after %d calls, want nil after 3", err, n)
	}
	err := Poll(5*time.Millisecond, time.Millisecond, func() error { return ErrExited })
	if err == nil || !errors.Is(err, ErrTimeout) {
		t.Errorf("Poll of a false condition: %v, want ErrTimeout", err)
	}
}
