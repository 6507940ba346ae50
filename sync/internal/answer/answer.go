// Package answer holds what both generated clients' typed errors share.
package answer

// Response is what every generated response has.
type Response interface {
	StatusCode() int
	Bytes() []byte
}

// Check passes a call's answer on when it is a 2xx, and otherwise returns
// the error parse reads from it; err, when set, is returned as it is.
func Check[R Response](res R, err error, parse func(status int, body []byte) error) (R, error) {
	if err != nil {
		return res, err
	}
	if code := res.StatusCode(); code >= 200 && code < 300 {
		return res, nil
	}
	return res, parse(res.StatusCode(), res.Bytes())
}
