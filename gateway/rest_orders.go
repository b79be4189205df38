package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/geomesh/geomesh/matcher"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// codeErr turns a matcher edge error (wrapping a *matcher.CodeError) into a 400 answer.
func codeErr(err error) *apiError {
	var ce *matcher.CodeError
	if errors.As(err, &ce) {
		return &apiError{status: http.StatusBadRequest, code: ce.Code, msg: ce.Msg}
	}
	return newAPIError(http.StatusBadRequest, -1100, "Illegal characters found in a parameter.")
}

// Request ids (the dedupe id of the append): derived from the account and the client's id, so a
// retried request is never executed twice.
func orderRequestID(account uint64, clientOrderID string) string {
	return "o:" + strconv.FormatUint(account, 10) + ":" + clientOrderID
}

// replaceRequestID is the dedupe id of a cancel-replace: its own namespace, so a new order id
// reused by a cancel-replace is not mistaken for a retry of the earlier plain order.
func replaceRequestID(account uint64, clientOrderID string) string {
	return "r:" + strconv.FormatUint(account, 10) + ":" + clientOrderID
}

func cancelRequestID(account uint64, clientID string) string {
	return "c:" + strconv.FormatUint(account, 10) + ":" + clientID
}

// validClientID is Binance's ^[\.A-Z\:/a-z0-9_-]{1,36}$.
func validClientID(s string) bool {
	if len(s) < 1 || len(s) > 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '/' || c == '-') {
			return false
		}
	}
	return true
}

// clientID returns the named client id parameter, or a fresh one when absent.
func clientID(p *params, name string) (string, *apiError) {
	id := p.get(name)
	if id == "" {
		return "geo" + client.RandomToken(19), nil
	}
	if !validClientID(id) {
		return "", errIllegal(name)
	}
	return id, nil
}

// newOrderParams parses and checks the new-order parameters against the symbol's spec.
func (g *Gateway) newOrderParams(q *req, s *symbol) (*proto.NewOrder, string, *apiError) {
	p := q.p
	no := &proto.NewOrder{Account: q.key.Account, ClientTimeMs: q.tsMs, RecvWindowMs: q.rwMs}
	side, aerr := p.require("side")
	if aerr != nil {
		return nil, "", aerr
	}
	switch side {
	case "BUY":
		no.Side = proto.Side_SIDE_BUY
	case "SELL":
		no.Side = proto.Side_SIDE_SELL
	default:
		return nil, "", codeErr(matcher.ErrInvalidSide)
	}
	typ, aerr := p.require("type")
	if aerr != nil {
		return nil, "", aerr
	}
	switch typ {
	case "LIMIT":
		no.Type = proto.OrderType_ORDER_TYPE_LIMIT
	case "MARKET":
		no.Type = proto.OrderType_ORDER_TYPE_MARKET
	case "LIMIT_MAKER":
		no.Type = proto.OrderType_ORDER_TYPE_LIMIT_MAKER
	case "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT":
		return nil, "", codeErr(matcher.ErrUnknownCommand)
	default:
		return nil, "", codeErr(matcher.ErrInvalidType)
	}
	for _, name := range []string{"stopPrice", "icebergQty", "trailingDelta", "strategyId", "strategyType", "pegPriceType"} {
		if p.has(name) {
			return nil, "", errNotRequired(name)
		}
	}
	if tif := p.get("timeInForce"); tif != "" {
		if no.Type != proto.OrderType_ORDER_TYPE_LIMIT {
			return nil, "", codeErr(matcher.ErrTIFNotRequired)
		}
		switch tif {
		case "GTC":
			no.TimeInForce = proto.TimeInForce_TIME_IN_FORCE_GTC
		case "IOC":
			no.TimeInForce = proto.TimeInForce_TIME_IN_FORCE_IOC
		case "FOK":
			no.TimeInForce = proto.TimeInForce_TIME_IN_FORCE_FOK
		default:
			return nil, "", codeErr(matcher.ErrInvalidTIF)
		}
	} else if no.Type == proto.OrderType_ORDER_TYPE_LIMIT {
		return nil, "", errMissing("timeInForce")
	}
	var err error
	if v := p.get("price"); v != "" {
		if no.Type == proto.OrderType_ORDER_TYPE_MARKET {
			return nil, "", codeErr(matcher.ErrPriceNotReq)
		}
		if no.Price, err = s.spec.ParsePrice(v); err != nil {
			return nil, "", codeErr(err)
		}
	} else if no.Type != proto.OrderType_ORDER_TYPE_MARKET {
		return nil, "", errMissing("price")
	}
	qty, quote := p.get("quantity"), p.get("quoteOrderQty")
	switch {
	case quote != "" && no.Type != proto.OrderType_ORDER_TYPE_MARKET:
		return nil, "", codeErr(matcher.ErrQuoteNotReq)
	case quote != "" && qty != "":
		return nil, "", codeErr(matcher.ErrQuoteNotReq)
	case quote != "":
		if no.QuoteQty, err = s.spec.ParseQuoteQty(quote); err != nil {
			return nil, "", codeErr(err)
		}
	case qty != "":
		if no.Qty, err = s.spec.ParseQty(qty); err != nil {
			return nil, "", codeErr(err)
		}
	case no.Type == proto.OrderType_ORDER_TYPE_MARKET:
		return nil, "", codeErr(matcher.ErrMissingQty)
	default:
		return nil, "", errMissing("quantity")
	}
	switch p.get("selfTradePreventionMode") {
	case "", "NONE":
		no.StpMode = proto.StpMode_STP_MODE_NONE
	case "EXPIRE_TAKER":
		no.StpMode = proto.StpMode_STP_MODE_EXPIRE_TAKER
	case "EXPIRE_MAKER":
		no.StpMode = proto.StpMode_STP_MODE_EXPIRE_MAKER
	case "EXPIRE_BOTH":
		no.StpMode = proto.StpMode_STP_MODE_EXPIRE_BOTH
	default:
		return nil, "", newAPIError(http.StatusBadRequest, -1100, "Illegal characters found in parameter 'selfTradePreventionMode'; legal range is 'NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH'.")
	}
	if no.ClientOrderId, aerr = clientID(p, "newClientOrderId"); aerr != nil {
		return nil, "", aerr
	}
	resp := p.get("newOrderRespType")
	switch resp {
	case "":
		resp = "FULL"
		if no.Type == proto.OrderType_ORDER_TYPE_LIMIT_MAKER {
			resp = "ACK"
		}
	case "ACK", "RESULT", "FULL":
	default:
		return nil, "", newAPIError(http.StatusBadRequest, -1100, "Illegal characters found in parameter 'newOrderRespType'; legal range is 'ACK, RESULT, FULL'.")
	}
	return no, resp, nil
}

// submit appends cmd and waits for the matcher's answer, then (briefly) for the local replica to
// reflect it, so the client can read its own write in this region.
func (g *Gateway) submit(q *req, s *symbol, cmd *proto.Command) (*proto.CommandResult, *apiError) {
	cmd.Symbol, cmd.IngressRegion = s.name, g.cfg.Region
	ctx, cancel := context.WithTimeout(q.r.Context(), g.cfg.RequestTimeout)
	defer cancel()
	start := time.Now()
	res, err := g.sub.Submit(ctx, cmd, client.WaitResult)
	if err != nil {
		return nil, g.submitError(err)
	}
	g.metrics.observeRoundtrip(g.cfg.Region, s, time.Since(start))
	if res.Answer == nil {
		return nil, errTimeout
	}
	// The matcher answers before its events are in EVT_<S>, so the replica may not show this
	// command yet; the answer itself describes the orders it placed, and the orders it
	// touched were placed by earlier commands, whose events are durable by now: wait only
	// for those, and let the account's next reads wait for this one (book.answeredFor).
	g.awaitReplica(ctx, s, res.Answer.CmdSeq-1)
	if acct := commandAccount(cmd); acct != 0 {
		s.book.answeredFor(acct, res.Answer.CmdSeq)
	}
	return res.Answer, nil
}

// commandAccount is the account a client command acts for (0 for none).
func commandAccount(cmd *proto.Command) uint64 {
	switch b := cmd.Body.(type) {
	case *proto.Command_NewOrder:
		return b.NewOrder.GetAccount()
	case *proto.Command_Cancel:
		return b.Cancel.GetAccount()
	case *proto.Command_CancelAll:
		return b.CancelAll.GetAccount()
	case *proto.Command_CancelReplace:
		return b.CancelReplace.GetAccount()
	case *proto.Command_Amend:
		return b.Amend.GetAccount()
	}
	return 0
}

// awaitAnswered waits (at most Config.ReadYourWrites) until the replica of s shows every command
// of account this gateway answered for, so a read right after an order or a cancel sees it.
func (g *Gateway) awaitAnswered(q *req, s *symbol, account uint64) {
	if seq := s.book.awaitSeq(account); seq != 0 {
		g.awaitReplica(q.r.Context(), s, seq)
	}
}

func (g *Gateway) submitError(err error) *apiError {
	switch {
	case errors.Is(err, client.ErrUnavailable), errors.Is(err, client.ErrNoQuorum):
		return errBusy // certainly not appended: retry
	case errors.Is(err, client.ErrOutcomeUnknown), errors.Is(err, context.DeadlineExceeded):
		return errTimeout
	case errors.Is(err, context.Canceled):
		return errShuttingDown
	}
	g.log.Warn("submit_failed", "err", err)
	return errUnknown
}

// replicaStall is how long a reader waits for a replica that applies nothing before it asks
// the symbol's follower to re-create its consumer. The matcher's events normally follow its
// answer within a millisecond or two.
const replicaStall = 300 * time.Millisecond

// awaitReplica waits until the replica of s applied seq, at most Config.ReadYourWrites.
func (g *Gateway) awaitReplica(ctx context.Context, s *symbol, seq uint64) {
	t := time.NewTimer(g.cfg.ReadYourWrites)
	defer t.Stop()
	// A replica that applies nothing for replicaStall while we wait gets its follower restarted.
	stall := time.NewTimer(replicaStall)
	defer stall.Stop()
	for {
		applied, changed := s.book.appliedSeq()
		if applied >= seq {
			return
		}
		select {
		case <-changed:
			stall.Reset(replicaStall)
		case <-stall.C:
			g.log.Debug("replica_stalled", "symbol", s.name, "want", seq, "applied", applied)
			s.stalled()
		case <-t.C:
			g.log.Debug("replica_behind", "symbol", s.name, "want", seq, "applied", applied)
			return
		case <-ctx.Done():
			return
		}
	}
}

// rejected turns a REJECTED answer into the client's error (nil when accepted).
func rejected(ans *proto.CommandResult) *apiError {
	if ans.Status != proto.CommandStatus_COMMAND_STATUS_REJECTED {
		return nil
	}
	return &apiError{status: http.StatusBadRequest, code: ans.RejectCode, msg: ans.RejectMsg}
}

// ordersOf folds an answer's events over the replica's view of the orders they concern.
func ordersOf(s *symbol, ans *proto.CommandResult) map[uint64]*orderRec {
	m := map[uint64]*orderRec{}
	get := func(id uint64) *orderRec {
		if o := m[id]; o != nil {
			return o
		}
		if o := s.book.byID(id); o != nil {
			m[id] = o
			return o
		}
		return nil
	}
	applyOrderEvents(ans.Events, ans.CmdTimeUnixNano, get, func(o *orderRec) { m[o.ID] = o })
	return m
}

func (g *Gateway) newOrder(q *req, test bool) (any, *apiError) {
	s, aerr := g.oneSymbol(q)
	if aerr != nil {
		return nil, aerr
	}
	no, resp, aerr := g.newOrderParams(q, s)
	if aerr != nil {
		if !test {
			g.metrics.observeOrder(no, aerr)
		}
		return nil, aerr
	}
	if test {
		return struct{}{}, nil
	}
	v, aerr := g.placeOrder(q, s, no, resp)
	g.metrics.observeOrder(no, aerr)
	return v, aerr
}

// placeOrder submits a checked new order and builds the answer of type resp.
func (g *Gateway) placeOrder(q *req, s *symbol, no *proto.NewOrder, resp string) (any, *apiError) {
	if aerr := g.countOrder(q); aerr != nil {
		return nil, aerr
	}
	cmd := &proto.Command{RequestId: orderRequestID(no.Account, no.ClientOrderId), Body: &proto.Command_NewOrder{NewOrder: no}}
	if resp == "ACK" && q.p.get("newOrderRespType") == "ACK" {
		return g.ackOrder(q, s, cmd)
	}
	ans, aerr := g.submit(q, s, cmd)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := rejected(ans); aerr != nil {
		return nil, aerr
	}
	o := newOrderOf(ordersOf(s, ans), ans, no.ClientOrderId)
	if o == nil {
		return nil, errUnknown
	}
	return s.orderAnswer(o, resp, ans.Events, ans.CmdTimeUnixNano/1e6), nil
}

// ackOrder answers an explicit newOrderRespType=ACK as soon as the command is durably in CMD_<S>:
// the order's id is the command's log sequence (the matcher gives every order the sequence of
// the command that placed it), so the append's ack is all the answer needs. The matcher may
// still reject the order (a LIMIT_MAKER that would take, MAX_NUM_ORDERS): the order is then
// not found by a query, as after any rejection. A LIMIT_MAKER without an explicit ACK keeps
// Binance's synchronous rejection by waiting for the matcher (see newOrder).
func (g *Gateway) ackOrder(q *req, s *symbol, cmd *proto.Command) (any, *apiError) {
	cmd.Symbol, cmd.IngressRegion = s.name, g.cfg.Region
	ctx, cancel := context.WithTimeout(q.r.Context(), g.cfg.RequestTimeout)
	defer cancel()
	start := time.Now()
	res, err := g.sub.Submit(ctx, cmd, client.WaitAck)
	if err != nil {
		return nil, g.submitError(err)
	}
	g.metrics.observeRoundtrip(g.cfg.Region, s, time.Since(start))
	no := cmd.GetNewOrder()
	s.book.answeredFor(no.Account, res.Seq)
	return ackJSON{Symbol: s.name, OrderID: res.Seq, OrderListID: -1, ClientOrderID: no.ClientOrderId,
		TransactTime: time.Now().UnixMilli()}, nil
}

// newOrderOf finds the order an answer's Accepted event placed with client id cid.
func newOrderOf(orders map[uint64]*orderRec, ans *proto.CommandResult, cid string) *orderRec {
	for _, e := range ans.Events {
		if a := e.GetAccepted(); a != nil && a.Type != proto.OrderType_ORDER_TYPE_UNSPECIFIED && a.ClientOrderId == cid {
			return orders[a.OrderId]
		}
	}
	return nil
}

// countOrder applies the per-account order rate limit and sets the X-MBX-ORDER-COUNT headers.
func (g *Gateway) countOrder(q *req) *apiError {
	n, day, ok := g.limits.addOrder(q.key.Account, q.now)
	q.w.Header().Set("X-MBX-ORDER-COUNT-10S", strconv.Itoa(n))
	q.w.Header().Set("X-MBX-ORDER-COUNT-1D", strconv.Itoa(day))
	if !ok {
		g.metrics.rateLimited.WithLabelValues("ORDERS", "429").Inc()
		return newAPIError(http.StatusTooManyRequests, -1015, "Too many new orders; current limit is %d orders per 10 SECOND.", g.cfg.OrderLimit10s)
	}
	return nil
}

// target reads orderId / origClientOrderId (or their cancel-replace names).
func target(p *params, idName, cidName string) (uint64, string, *apiError) {
	id, aerr := p.uint(idName)
	if aerr != nil {
		return 0, "", aerr
	}
	cid := p.get(cidName)
	if id == 0 && cid == "" {
		return 0, "", newAPIError(http.StatusBadRequest, -1102, "Param '%s' or '%s' must be sent, but both were empty/null!", cidName, idName)
	}
	if cid != "" && !validClientID(cid) {
		return 0, "", errIllegal(cidName)
	}
	return id, cid, nil
}

func (g *Gateway) cancelOrder(q *req) (any, *apiError) {
	s, aerr := g.oneSymbol(q)
	if aerr != nil {
		return nil, aerr
	}
	id, orig, aerr := target(q.p, "orderId", "origClientOrderId")
	if aerr != nil {
		return nil, aerr
	}
	cid, aerr := clientID(q.p, "newClientOrderId")
	if aerr != nil {
		return nil, aerr
	}
	acct := q.key.Account
	ans, aerr := g.submit(q, s, &proto.Command{RequestId: cancelRequestID(acct, cid),
		Body: &proto.Command_Cancel{Cancel: &proto.Cancel{Account: acct, OrderId: id, OrigClientOrderId: orig, ClientOrderId: cid}}})
	if aerr != nil {
		return nil, aerr
	}
	if aerr := rejected(ans); aerr != nil {
		return nil, aerr
	}
	orders := ordersOf(s, ans)
	for _, e := range ans.Events {
		if c := e.GetCanceled(); c != nil {
			return s.cancelOf(orders[c.OrderId], cid, ans.CmdTimeUnixNano/1e6), nil
		}
	}
	return nil, errUnknownOrder
}

func (g *Gateway) getOrder(q *req) (any, *apiError) {
	s, aerr := g.oneSymbol(q)
	if aerr != nil {
		return nil, aerr
	}
	id, cid, aerr := target(q.p, "orderId", "origClientOrderId")
	if aerr != nil {
		return nil, aerr
	}
	g.awaitAnswered(q, s, q.key.Account)
	o := s.book.lookup(q.key.Account, id, cid)
	if o == nil {
		return nil, errNoSuchOrder
	}
	return s.queryOf(o), nil
}

func (g *Gateway) openOrders(q *req) (any, *apiError) {
	syms := g.reg.all()
	if q.p.has("symbol") {
		s, aerr := g.oneSymbol(q)
		if aerr != nil {
			return nil, aerr
		}
		syms = []*symbol{s}
	}
	out := []queryJSON{}
	for _, s := range syms {
		g.awaitAnswered(q, s, q.key.Account)
		for _, o := range s.book.openOrders(q.key.Account) {
			out = append(out, s.queryOf(&o))
		}
	}
	return out, nil
}

func (g *Gateway) cancelOpenOrders(q *req) (any, *apiError) {
	s, aerr := g.oneSymbol(q)
	if aerr != nil {
		return nil, aerr
	}
	acct := q.key.Account
	cid := "geo" + client.RandomToken(19)
	ans, aerr := g.submit(q, s, &proto.Command{RequestId: cancelRequestID(acct, cid),
		Body: &proto.Command_CancelAll{CancelAll: &proto.CancelAll{Account: acct}}})
	if aerr != nil {
		return nil, aerr
	}
	if aerr := rejected(ans); aerr != nil {
		return nil, aerr
	}
	orders := ordersOf(s, ans)
	out := []cancelJSON{}
	for _, e := range ans.Events {
		if c := e.GetCanceled(); c != nil {
			out = append(out, s.cancelOf(orders[c.OrderId], cid, ans.CmdTimeUnixNano/1e6))
		}
	}
	if len(out) == 0 {
		return nil, errUnknownOrder
	}
	return out, nil
}

func (g *Gateway) cancelReplace(q *req) (any, *apiError) {
	s, aerr := g.oneSymbol(q)
	if aerr != nil {
		return nil, aerr
	}
	cr := &proto.CancelReplace{Account: q.key.Account}
	switch mode, _ := q.p.require("cancelReplaceMode"); mode {
	case "STOP_ON_FAILURE":
		cr.Mode = proto.CancelReplaceMode_CANCEL_REPLACE_MODE_STOP_ON_FAILURE
	case "ALLOW_FAILURE":
		cr.Mode = proto.CancelReplaceMode_CANCEL_REPLACE_MODE_ALLOW_FAILURE
	case "":
		return nil, errMissing("cancelReplaceMode")
	default:
		return nil, errIllegal("cancelReplaceMode")
	}
	if cr.OrderId, cr.OrigClientOrderId, aerr = target(q.p, "cancelOrderId", "cancelOrigClientOrderId"); aerr != nil {
		return nil, aerr
	}
	if cr.CancelClientOrderId, aerr = clientID(q.p, "cancelNewClientOrderId"); aerr != nil {
		return nil, aerr
	}
	no, resp, aerr := g.newOrderParams(q, s)
	if aerr != nil {
		return nil, aerr
	}
	cr.NewOrder = no
	if aerr := g.countOrder(q); aerr != nil {
		return nil, aerr
	}
	ans, aerr := g.submit(q, s, &proto.Command{RequestId: replaceRequestID(no.Account, no.ClientOrderId),
		Body: &proto.Command_CancelReplace{CancelReplace: cr}})
	if aerr != nil {
		return nil, aerr
	}
	var rep *proto.Replaced
	for _, e := range ans.Events {
		if r := e.GetReplaced(); r != nil {
			rep = r
		}
	}
	if rep == nil {
		if aerr := rejected(ans); aerr != nil {
			return nil, aerr
		}
		return nil, errUnknown
	}
	orders := ordersOf(s, ans)
	body := map[string]any{"cancelResult": replaceResultName(rep.CancelResult), "newOrderResult": replaceResultName(rep.NewOrderResult)}
	if rep.CancelResult == proto.ReplaceResult_REPLACE_RESULT_SUCCESS {
		body["cancelResponse"] = s.cancelOf(orders[rep.CanceledOrderId], cr.CancelClientOrderId, ans.CmdTimeUnixNano/1e6)
	} else {
		body["cancelResponse"] = map[string]any{"code": rep.CancelCode, "msg": rep.CancelMsg}
	}
	switch rep.NewOrderResult {
	case proto.ReplaceResult_REPLACE_RESULT_SUCCESS:
		body["newOrderResponse"] = s.orderAnswer(orders[rep.NewOrderId], resp, ans.Events, ans.CmdTimeUnixNano/1e6)
	case proto.ReplaceResult_REPLACE_RESULT_FAILURE:
		body["newOrderResponse"] = map[string]any{"code": rep.NewOrderCode, "msg": rep.NewOrderMsg}
	default:
		body["newOrderResponse"] = nil
	}
	okCancel := rep.CancelResult == proto.ReplaceResult_REPLACE_RESULT_SUCCESS
	okNew := rep.NewOrderResult == proto.ReplaceResult_REPLACE_RESULT_SUCCESS
	switch {
	case okCancel && okNew:
		return body, nil
	case okCancel || okNew:
		return nil, &apiError{status: http.StatusConflict, code: matcher.CodeReplacePartiallyFailed, msg: "Order cancel-replace partially failed.", data: body}
	default:
		return nil, &apiError{status: http.StatusBadRequest, code: matcher.CodeReplaceFailed, msg: "Order cancel-replace failed.", data: body}
	}
}

func replaceResultName(r proto.ReplaceResult) string {
	switch r {
	case proto.ReplaceResult_REPLACE_RESULT_SUCCESS:
		return "SUCCESS"
	case proto.ReplaceResult_REPLACE_RESULT_FAILURE:
		return "FAILURE"
	default:
		return "NOT_ATTEMPTED"
	}
}

func (g *Gateway) account(q *req) (any, *apiError) {
	k := q.key
	rate := map[string]string{"maker": "0.00000000", "taker": "0.00000000", "buyer": "0.00000000", "seller": "0.00000000"}
	return map[string]any{
		"makerCommission": 0, "takerCommission": 0, "buyerCommission": 0, "sellerCommission": 0,
		"commissionRates": rate, "canTrade": hasPerm(k, proto.Permission_PERMISSION_TRADE),
		"canWithdraw": false, "canDeposit": false, "brokered": false, "requireSelfTradePrevention": false,
		"preventSor": false, "updateTime": q.now.UnixMilli(), "accountType": "SPOT",
		"balances": []any{}, "permissions": []string{"SPOT"}, "uid": k.Account,
	}, nil
}

func (g *Gateway) startUserStream(q *req) (any, *apiError) {
	lk := listenKeyOf(q.key)
	if err := putListenKey(q.r.Context(), g.accounts, lk, q.key.Account, q.now.Add(g.cfg.ListenKeyTTL)); err != nil {
		g.log.Warn("listen_key_put_failed", "err", err)
		return nil, errBusy
	}
	return map[string]string{"listenKey": lk}, nil
}

// ownListenKey checks the listenKey parameter names a live key of the caller's account.
func (g *Gateway) ownListenKey(q *req) (string, *apiError) {
	lk, aerr := q.p.require("listenKey")
	if aerr != nil {
		return "", aerr
	}
	rec, err := getListenKey(q.r.Context(), g.accounts, lk, q.now)
	if err != nil {
		return "", errBusy
	}
	if rec == nil || rec.Account != q.key.Account {
		return "", errListenKey
	}
	return lk, nil
}

func (g *Gateway) keepaliveUserStream(q *req) (any, *apiError) {
	lk, aerr := g.ownListenKey(q)
	if aerr != nil {
		return nil, aerr
	}
	if err := putListenKey(q.r.Context(), g.accounts, lk, q.key.Account, q.now.Add(g.cfg.ListenKeyTTL)); err != nil {
		return nil, errBusy
	}
	return struct{}{}, nil
}

func (g *Gateway) closeUserStream(q *req) (any, *apiError) {
	lk, aerr := g.ownListenKey(q)
	if aerr != nil {
		return nil, aerr
	}
	if err := g.accounts.Delete(q.r.Context(), listenKeyPrefix+lk); err != nil {
		return nil, errBusy
	}
	return struct{}{}, nil
}
