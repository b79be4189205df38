package gateway

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors of the gateway's Go API (not client-facing; clients get an apiError).
var (
	// ErrInvalidConfig: Config.Validate failed.
	ErrInvalidConfig = errors.New("gateway: invalid config")
	// ErrClosed: the gateway was closed.
	ErrClosed = errors.New("gateway: closed")
	// ErrStarted: Start was called twice.
	ErrStarted = errors.New("gateway: already started")
)

// apiError is a Binance-shaped error answer: an HTTP status and a {code,msg} body.
type apiError struct {
	status int
	code   int32
	msg    string
	data   any // optional "data" member (cancelReplace failures)
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %d %s", e.status, e.code, e.msg) }

func newAPIError(status int, code int32, format string, a ...any) *apiError {
	msg := format
	if len(a) > 0 {
		msg = fmt.Sprintf(format, a...)
	}
	return &apiError{status: status, code: code, msg: msg}
}

// Client-facing errors used in several places. Binance codes and messages (errors.md).
var (
	errUnknownEndpoint = &apiError{http.StatusNotFound, -1000, "Unknown endpoint.", nil}
	errUnknown         = &apiError{http.StatusInternalServerError, -1000, "An unknown error occurred while processing the request.", nil}
	errTimeout         = &apiError{http.StatusServiceUnavailable, -1007, "Timeout waiting for response from backend server. Send status unknown; execution status unknown.", nil}
	errBusy            = &apiError{http.StatusServiceUnavailable, -1008, "Server is currently overloaded with other requests. Please try again in a few minutes.", nil}
	errShuttingDown    = &apiError{http.StatusServiceUnavailable, -1016, "This service is no longer available.", nil}
	errRecvWindow      = &apiError{http.StatusBadRequest, -1021, "Timestamp for this request is outside of the recvWindow.", nil}
	errAhead           = &apiError{http.StatusBadRequest, -1021, "Timestamp for this request was 1000ms ahead of the server's time.", nil}
	errSignature       = &apiError{http.StatusBadRequest, -1022, "Signature for this request is not valid.", nil}
	errInvalidSymbol   = &apiError{http.StatusBadRequest, -1121, "Invalid symbol.", nil}
	errListenKey       = &apiError{http.StatusBadRequest, -1125, "This listenKey does not exist.", nil}
	errBadRecvWindow   = &apiError{http.StatusBadRequest, -1131, "recvWindow must be less than 60000", nil}
	errNoSuchOrder     = &apiError{http.StatusBadRequest, -2013, "Order does not exist.", nil}
	errUnknownOrder    = &apiError{http.StatusBadRequest, -2011, "Unknown order sent.", nil}
	errKeyFormat       = &apiError{http.StatusUnauthorized, -2014, "API-key format invalid.", nil}
	errKeyRejected     = &apiError{http.StatusUnauthorized, -2015, "Invalid API-key, IP, or permissions for action.", nil}
	errTooLarge        = &apiError{http.StatusRequestEntityTooLarge, -1000, "Request body too large.", nil}
	errTooManyWeight   = &apiError{http.StatusTooManyRequests, -1003, "Too much request weight used; current limit is %d request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.", nil}
	errBanned          = &apiError{http.StatusTeapot, -1003, "Way too much request weight used; IP banned until %d. Please use WebSocket Streams for live updates to avoid bans.", nil}
)

// errMissing is -1102 for a mandatory parameter.
func errMissing(name string) *apiError {
	return newAPIError(http.StatusBadRequest, -1102, "Mandatory parameter '%s' was not sent, was empty/null, or malformed.", name)
}

// errIllegal is -1100 for a parameter with illegal characters.
func errIllegal(name string) *apiError {
	return newAPIError(http.StatusBadRequest, -1100, "Illegal characters found in parameter '%s'; legal range is '%s'.", name, legalRange(name))
}

// errNotRequired is -1106 for a parameter sent when not required.
func errNotRequired(name string) *apiError {
	return newAPIError(http.StatusBadRequest, -1106, "Parameter '%s' sent when not required.", name)
}

func legalRange(name string) string {
	switch name {
	case "newClientOrderId", "origClientOrderId", "cancelNewClientOrderId", "cancelOrigClientOrderId":
		return `^[\.A-Z\:/a-z0-9_-]{1,36}$`
	case "symbol":
		return `^[A-Z0-9-_.]{1,20}$`
	default:
		return `^[0-9]{1,20}$`
	}
}
