package main

import (
	"context"
	"time"
)

// intended is the time request i of an open-loop schedule at rate requests/s is due: start +
// i/rate, exact in nanoseconds (no drift accumulates over a long run).
func intended(start time.Time, rate float64, i int64) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// countBefore is how many requests of the schedule are due before start+d.
func countBefore(rate float64, d time.Duration) int64 {
	n := int64(d.Seconds() * rate)
	// intended(n) may still be before start+d by rounding: count exactly.
	for float64(n)*float64(time.Second)/rate < float64(d) {
		n++
	}
	for n > 0 && float64(n-1)*float64(time.Second)/rate >= float64(d) {
		n--
	}
	return n
}

// schedule runs an open-loop schedule: from start, it calls fire(i, due) for every request i
// due before start+total, at its intended time (several at once when the dispatcher wakes up
// late), each in its own goroutine, at most maxInFlight at a time. When maxInFlight requests
// are in flight the dispatcher waits, but the late requests keep their intended times, so their
// latency includes the wait. It returns once every request it started has returned, or when
// ctx ends (then without starting the rest).
func schedule(ctx context.Context, start time.Time, rate float64, total time.Duration, maxInFlight int,
	fire func(i int64, due time.Time)) (started int64) {
	n := countBefore(rate, total)
	sem := make(chan struct{}, maxInFlight)
	defer func() {
		for range maxInFlight {
			sem <- struct{}{} // wait for all in flight
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := int64(0); i < n; i++ {
		due := intended(start, rate, i)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return i
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			return i
		case sem <- struct{}{}:
		}
		go func() {
			defer func() { <-sem }()
			fire(i, due)
		}()
	}
	return n
}
