package gateway

import (
	"sync"
	"time"
)

// limiter counts request weight per IP in fixed one-minute windows (Binance's
// X-MBX-USED-WEIGHT-1M) and orders per account in fixed 10-second windows. An IP that keeps
// sending after a 429 within the same window is answered 418 until the window ends.
type limiter struct {
	weightLimit int // per IP per minute; <0 = off
	orderLimit  int // per account per 10 s; <0 = off

	mu      sync.Mutex
	window  int64 // minute index of the weight counters
	weights map[string]*ipWeight
	oWindow int64 // 10 s index of the order counters
	orders  map[uint64]int
	day     int64 // day index of the daily order counters (X-MBX-ORDER-COUNT-1D)
	daily   map[uint64]int
}

type ipWeight struct {
	used     int
	rejected int // requests answered 429 in this window
}

// after how many 429s in one window an IP gets 418.
const banAfter429s = 10

func newLimiter(weightLimit, orderLimit int) *limiter {
	return &limiter{weightLimit: weightLimit, orderLimit: orderLimit,
		weights: map[string]*ipWeight{}, orders: map[uint64]int{}, daily: map[uint64]int{}}
}

// addWeight charges w to ip at now and returns the weight used in the window, and whether the
// request is refused: status 429 or 418 and the seconds until the window ends.
func (l *limiter) addWeight(ip string, w int, now time.Time) (used int, status int, retryAfter int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	win := now.Unix() / 60
	if win != l.window {
		l.window = win
		clear(l.weights)
	}
	c := l.weights[ip]
	if c == nil {
		c = &ipWeight{}
		l.weights[ip] = c
	}
	retryAfter = int(60 - now.Unix()%60)
	if l.weightLimit >= 0 && c.used+w > l.weightLimit {
		c.rejected++
		if c.rejected > banAfter429s {
			return c.used, 418, retryAfter
		}
		return c.used, 429, retryAfter
	}
	c.used += w
	return c.used, 0, 0
}

// addOrder counts one order of account at now; it returns the counts in the 10 s window and
// the UTC day, and false when the account is over its 10 s limit (the order is not counted).
func (l *limiter) addOrder(account uint64, now time.Time) (n10s, nDay int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if win := now.Unix() / 10; win != l.oWindow {
		l.oWindow = win
		clear(l.orders)
	}
	if day := now.Unix() / 86400; day != l.day {
		l.day = day
		clear(l.daily)
	}
	if l.orderLimit >= 0 && l.orders[account] >= l.orderLimit {
		return l.orders[account], l.daily[account], false
	}
	l.orders[account]++
	l.daily[account]++
	return l.orders[account], l.daily[account], true
}
