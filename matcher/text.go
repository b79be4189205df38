package matcher

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Text format of commands, used by the golden scripts in testdata and by cmd/matchreplay. One
// command per line: a verb, then key=value pairs and bare enum names in any order.
//
//	new     acct=1 coid=b1 BUY LIMIT GTC p=100 q=10 [quote=N] [stp=EXPIRE_TAKER] [ctime=ms recv=ms]
//	cancel  acct=1 id=3 | orig=b1 [ccoid=c1]
//	cancel-all acct=1
//	replace acct=1 STOP_ON_FAILURE|ALLOW_FAILURE id=3 | orig=b1 [ccoid=c1] <new order fields>
//	amend   acct=1 id=3 | orig=b1 q=NEWQTY
//	phase   HALT [reason=text_without_spaces]
//
// Prices are ticks and quantities lots (the log is integral). seq=N and time=NS override the log's
// values; by default a Runner numbers commands 1, 2, ... and sets Time to Seq milliseconds.
// Scripts add two directives: "spec key=decimal ..." starts a new book (keys symbol, tick, step,
// minPrice, maxPrice, minQty, maxQty, minNotional, maxNotional, maxOrders; unset keys take
// DefaultSpec values) and "book" prints the whole state.

// ParseCommand parses one command line.
func ParseCommand(line string) (Command, error) {
	var c Command
	f := strings.Fields(line)
	if len(f) == 0 {
		return c, fmt.Errorf("parse command: empty line: %w", ErrScript)
	}
	switch f[0] {
	case "new":
		c.Kind = CmdNew
	case "cancel":
		c.Kind = CmdCancel
	case "cancel-all":
		c.Kind = CmdCancelAll
	case "replace":
		c.Kind = CmdCancelReplace
	case "amend":
		c.Kind = CmdAmend
	case "phase":
		c.Kind = CmdSetPhase
	default:
		return c, fmt.Errorf("parse command: unknown verb %q: %w", f[0], ErrScript)
	}
	no := &c.Order
	for _, tok := range f[1:] {
		k, v, isKV := strings.Cut(tok, "=")
		if !isKV {
			if !setEnum(&c, tok) {
				return c, fmt.Errorf("parse command: unknown word %q: %w", tok, ErrScript)
			}
			continue
		}
		var err error
		switch k {
		case "acct":
			c.Account, err = strconv.ParseUint(v, 10, 64)
		case "id":
			c.OrderID, err = strconv.ParseUint(v, 10, 64)
		case "seq":
			c.Seq, err = strconv.ParseUint(v, 10, 64)
		case "time":
			c.Time, err = strconv.ParseInt(v, 10, 64)
		case "coid":
			no.ClientOrderID = v
		case "orig":
			c.OrigClientOrderID = v
		case "ccoid":
			c.ClientOrderID = v
		case "reason":
			c.Reason = v
		case "p":
			no.Price, err = strconv.ParseInt(v, 10, 64)
		case "q":
			if c.Kind == CmdAmend {
				c.NewQty, err = strconv.ParseInt(v, 10, 64)
			} else {
				no.Qty, err = strconv.ParseInt(v, 10, 64)
			}
		case "quote":
			no.QuoteQty, err = strconv.ParseInt(v, 10, 64)
		case "ctime":
			no.ClientTimeMs, err = strconv.ParseInt(v, 10, 64)
		case "recv":
			no.RecvWindowMs, err = strconv.ParseInt(v, 10, 64)
		case "stp":
			i := index(stpNames, v)
			no.STP, err = STPMode(i), badIf(i < 0)
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			return c, fmt.Errorf("parse command: %q: %v: %w", tok, err, ErrScript)
		}
	}
	return c, nil
}

func badIf(b bool) error {
	if b {
		return fmt.Errorf("unknown value")
	}
	return nil
}

func index(names []string, v string) int {
	for i, n := range names {
		if n == v && n != "" {
			return i
		}
	}
	return -1
}

func setEnum(c *Command, tok string) bool {
	if i := index(sideNames, tok); i > 0 {
		c.Order.Side = Side(i)
	} else if i := index(typeNames, tok); i > 0 {
		c.Order.Type = OrderType(i)
	} else if i := index(tifNames, tok); i > 0 {
		c.Order.TimeInForce = TimeInForce(i)
	} else if i := index(modeNames, tok); i > 0 {
		c.Mode = ReplaceMode(i)
	} else if i := index(phaseNames, tok); i > 0 {
		c.Phase = Phase(i)
	} else {
		return false
	}
	return true
}

// FormatCommand formats c in the text format (ParseCommand(FormatCommand(c)) == c for commands
// whose strings contain no spaces or '=').
func FormatCommand(c *Command) string {
	var sb strings.Builder
	sb.WriteString(c.Kind.String())
	kv := func(k string, v any) { fmt.Fprintf(&sb, " %s=%v", k, v) }
	if c.Seq != 0 {
		kv("seq", c.Seq)
	}
	if c.Time != 0 {
		kv("time", c.Time)
	}
	if c.Kind != CmdSetPhase || c.Account != 0 {
		kv("acct", c.Account)
	}
	if c.Mode != 0 {
		sb.WriteString(" " + c.Mode.String())
	}
	if c.Phase != 0 {
		sb.WriteString(" " + c.Phase.String())
	}
	if c.Reason != "" {
		kv("reason", c.Reason)
	}
	if c.OrderID != 0 {
		kv("id", c.OrderID)
	}
	if c.OrigClientOrderID != "" {
		kv("orig", c.OrigClientOrderID)
	}
	if c.ClientOrderID != "" {
		kv("ccoid", c.ClientOrderID)
	}
	if c.Kind == CmdAmend {
		kv("q", c.NewQty)
	}
	no := &c.Order
	if no.ClientOrderID != "" {
		kv("coid", no.ClientOrderID)
	}
	for _, s := range []string{no.Side.String(), no.Type.String(), no.TimeInForce.String()} {
		if s != unknownNames {
			sb.WriteString(" " + s)
		}
	}
	for _, f := range []struct {
		k string
		v int64
	}{{"p", no.Price}, {"q", no.Qty}, {"quote", no.QuoteQty}, {"ctime", no.ClientTimeMs}, {"recv", no.RecvWindowMs}} {
		if f.v != 0 {
			kv(f.k, f.v)
		}
	}
	if no.STP != STPNone {
		kv("stp", no.STP)
	}
	return sb.String()
}

// FormatEvent formats one event on one line, showing the fields its kind uses.
func FormatEvent(e *Event) string {
	var sb strings.Builder
	sb.WriteString(e.Kind.String())
	kv := func(k string, v any) { fmt.Fprintf(&sb, " %s=%v", k, v) }
	word := func(s fmt.Stringer) { sb.WriteString(" " + s.String()) }
	coid := func(k, v string) {
		if v != "" {
			kv(k, v)
		}
	}
	switch e.Kind {
	case EvAccepted:
		kv("id", e.OrderID)
		kv("acct", e.Account)
		coid("coid", e.ClientOrderID)
		word(e.Side)
		word(e.Type)
		if e.TimeInForce != 0 {
			word(e.TimeInForce)
		}
		if e.Type != Market {
			kv("p", e.Price)
		}
		if e.QuoteQty != 0 {
			kv("quote", e.QuoteQty)
		} else {
			kv("q", e.Qty)
		}
		if e.STP != STPNone {
			kv("stp", e.STP)
		}
	case EvRejected:
		fmt.Fprintf(&sb, " code=%d %q acct=%d", e.Code, e.Msg, e.Account)
		if e.OrderID != 0 {
			kv("id", e.OrderID)
		}
		coid("coid", e.ClientOrderID)
	case EvTrade:
		kv("tid", e.TradeID)
		kv("p", e.Price)
		kv("q", e.Qty)
		kv("quote", e.QuoteQty)
		fmt.Fprintf(&sb, " taker=%d/%d", e.OrderID, e.Account)
		coid("coid", e.ClientOrderID)
		word(e.Side)
		fmt.Fprintf(&sb, " exec=%d/%d maker=%d/%d", e.ExecutedQty, e.ExecutedQuote, e.MakerOrderID, e.MakerAccount)
		coid("coid", e.MakerClientOrderID)
		fmt.Fprintf(&sb, " q=%d exec=%d/%d", e.MakerQty, e.MakerExecutedQty, e.MakerExecutedQuote)
	case EvCanceled, EvExpired:
		kv("id", e.OrderID)
		kv("acct", e.Account)
		coid("coid", e.ClientOrderID)
		word(e.Side)
		word(e.Type)
		if e.Type != Market {
			kv("p", e.Price)
		}
		if e.QuoteQty != 0 {
			kv("quote", e.QuoteQty)
		} else {
			kv("q", e.Qty)
		}
		fmt.Fprintf(&sb, " exec=%d/%d reason=%s", e.ExecutedQty, e.ExecutedQuote, e.Reason)
		coid("ccoid", e.CancelClientOrderID)
	case EvReplaced:
		fmt.Fprintf(&sb, " acct=%d canceled=%d cancel=%s", e.Account, e.OrderID, e.CancelResult)
		if e.Code != 0 {
			kv("cancelCode", e.Code)
		}
		fmt.Fprintf(&sb, " new=%d newOrder=%s", e.NewOrderID, e.NewOrderResult)
		if e.NewOrderCode != 0 {
			kv("newOrderCode", e.NewOrderCode)
		}
	case EvAmended:
		kv("id", e.OrderID)
		kv("acct", e.Account)
		coid("coid", e.ClientOrderID)
		word(e.Side)
		fmt.Fprintf(&sb, " p=%d q=%d exec=%d/%d", e.Price, e.Qty, e.ExecutedQty, e.ExecutedQuote)
	case EvDepthUpdate:
		kv("u", e.UpdateID)
		word(e.Side)
		kv("p", e.Price)
		kv("q", e.Qty)
	case EvPhaseChanged:
		fmt.Fprintf(&sb, " %s -> %s", e.OldPhase, e.Phase)
		coid("reason", e.Msg)
	}
	return sb.String()
}

// FormatBook prints the whole state: phase, depth, open orders, counters and hash.
func FormatBook(b *Book) string {
	var sb strings.Builder
	c := b.Counters()
	fmt.Fprintf(&sb, "phase=%s\n", b.phase)
	for s := Sell; s >= Buy; s-- {
		lv := b.Depth(s, 0, nil)
		label := "bids"
		if s == Sell {
			label = "asks"
		}
		fmt.Fprintf(&sb, "%s levels=%d\n", label, len(lv))
		if s == Sell {
			for i, j := 0, len(lv)-1; i < j; i, j = i+1, j-1 {
				lv[i], lv[j] = lv[j], lv[i]
			}
		}
		for _, l := range lv {
			fmt.Fprintf(&sb, "  %d x %d (%d)\n", l.Price, l.Qty, l.Orders)
		}
	}
	fmt.Fprintf(&sb, "orders=%d\n", c.OpenOrders)
	for _, o := range b.AllOrders(nil) {
		fmt.Fprintf(&sb, "  id=%d acct=%d", o.ID, o.Account)
		if o.ClientOrderID != "" {
			fmt.Fprintf(&sb, " coid=%s", o.ClientOrderID)
		}
		fmt.Fprintf(&sb, " %s %s", o.Side, o.Type)
		if o.TimeInForce != 0 {
			fmt.Fprintf(&sb, " %s", o.TimeInForce)
		}
		fmt.Fprintf(&sb, " p=%d q=%d rem=%d exec=%d/%d\n", o.Price, o.Qty, o.Remaining, o.ExecutedQty, o.ExecutedQuote)
	}
	h := b.Hash()
	fmt.Fprintf(&sb, "counters: order=%d trade=%d update=%d seq=%d\nhash=%s", c.LastOrderID, c.LastTradeID, c.LastUpdateID, c.LastSeq, hex.EncodeToString(h[:8]))
	return sb.String()
}

// ScriptBlock is one block of a script: comment lines, input lines, "----", expected output.
type ScriptBlock struct {
	Line     int      // 1-based line number of the first input line
	Comments []string // lines starting with '#' before the input
	Input    []string
	Expected string // output lines joined by "\n"
	HasSep   bool   // false when the block had no "----" (a plain recorded log)
}

// ParseScript splits a script into blocks. Blocks are separated by blank lines; a block's
// input ends at "----" and its expected output at the next blank line. A block without
// "----" (as in a plain recorded log) has no expected output.
func ParseScript(text string) ([]ScriptBlock, error) {
	var blocks []ScriptBlock
	var cur *ScriptBlock
	var comments []string
	inOutput := false
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, " \t\r")
		switch {
		case line == "":
			if cur != nil {
				blocks = append(blocks, *cur)
				cur, inOutput = nil, false
			}
		case inOutput:
			if cur.Expected != "" {
				cur.Expected += "\n"
			}
			cur.Expected += line
		case cur == nil && strings.HasPrefix(line, "#"):
			comments = append(comments, line)
		case line == "----":
			if cur == nil {
				return nil, fmt.Errorf("line %d: ---- without input: %w", i+1, ErrScript)
			}
			cur.HasSep, inOutput = true, true
		default:
			if cur == nil {
				cur = &ScriptBlock{Line: i + 1, Comments: comments}
				comments = nil
			}
			cur.Input = append(cur.Input, line)
		}
	}
	if cur != nil {
		blocks = append(blocks, *cur)
	}
	return blocks, nil
}

// FormatScript renders blocks back to script text with their Expected output.
func FormatScript(blocks []ScriptBlock) string {
	var sb strings.Builder
	for i, bl := range blocks {
		if i > 0 {
			sb.WriteString("\n")
		}
		for _, l := range bl.Comments {
			sb.WriteString(l + "\n")
		}
		for _, l := range bl.Input {
			sb.WriteString(l + "\n")
		}
		sb.WriteString("----\n")
		if bl.Expected != "" {
			sb.WriteString(bl.Expected + "\n")
		}
	}
	return sb.String()
}

// Runner executes script lines against a Book, numbering commands as a log would.
type Runner struct {
	Book *Book
	// Apply, when set, is called instead of Book.Apply (cmd/matchreplay uses it to time commands).
	Apply func(b *Book, c *Command) []Event
}

// NewRunner returns a Runner with a book of DefaultSpec.
func NewRunner() *Runner {
	b, err := NewBook(DefaultSpec())
	if err != nil {
		panic(err) // DefaultSpec is valid
	}
	return &Runner{Book: b}
}

// Exec runs one script line (a directive or a command) and returns its output: the formatted
// events of a command, one per line, or the state for "book".
func (r *Runner) Exec(line string) (string, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return "", nil
	}
	switch f[0] {
	case "book":
		return FormatBook(r.Book), nil
	case "spec":
		spec, err := parseSpec(f[1:])
		if err != nil {
			return "", err
		}
		b, err := NewBook(spec)
		if err != nil {
			return "", err
		}
		r.Book = b
		return "ok", nil
	}
	c, err := ParseCommand(line)
	if err != nil {
		return "", err
	}
	if c.Seq == 0 {
		c.Seq = r.Book.seq + 1
	}
	if c.Time == 0 {
		c.Time = int64(c.Seq) * 1e6
	}
	var evs []Event
	if r.Apply != nil {
		evs = r.Apply(r.Book, &c)
	} else {
		evs = r.Book.Apply(&c)
	}
	lines := make([]string, len(evs))
	for i := range evs {
		lines[i] = FormatEvent(&evs[i])
	}
	return strings.Join(lines, "\n"), nil
}

func parseSpec(kvs []string) (Spec, error) {
	s := DefaultSpec()
	for _, tok := range kvs {
		k, v, _ := strings.Cut(tok, "=")
		if k == "symbol" {
			s.Symbol = v
			continue
		}
		if k == "maxOrders" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return s, fmt.Errorf("spec %q: %w", tok, ErrScript)
			}
			s.MaxNumOrders = n
			continue
		}
		d, err := decimal.NewFromString(v)
		if err != nil {
			return s, fmt.Errorf("spec %q: %w", tok, ErrScript)
		}
		p := map[string]*decimal.Decimal{
			"tick": &s.TickSize, "step": &s.StepSize, "minPrice": &s.MinPrice, "maxPrice": &s.MaxPrice,
			"minQty": &s.MinQty, "maxQty": &s.MaxQty, "minNotional": &s.MinNotional, "maxNotional": &s.MaxNotional,
		}[k]
		if p == nil {
			return s, fmt.Errorf("spec: unknown key %q: %w", k, ErrScript)
		}
		*p = d
	}
	return s, s.Validate()
}
