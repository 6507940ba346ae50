package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// MapError words the errors of the packages the admin API drives: a missing
// location or delivery is a 404, a state or webhook setting that cannot be
// taken a 422, a body over its limit a 413, a stopped dispatcher a 503. It returns nil for any other
// error.
func MapError(err error) *pipeline.Error {
	var notFound *store.NotFoundError
	var invalid *store.InvalidError
	var imp *store.ImportError
	var tooLarge *http.MaxBytesError
	status, msg := 0, err.Error()
	switch {
	case errors.As(err, &tooLarge):
		status = http.StatusRequestEntityTooLarge
		msg = fmt.Sprintf("body larger than %d bytes: raise admin.maxImportBytes (--admin-max-import)", tooLarge.Limit)
	case errors.As(err, &notFound):
		status, msg = http.StatusNotFound, notFound.Kind+" not found"
	case errors.As(err, &imp):
		status, msg = http.StatusUnprocessableEntity, importMessage(imp)
	case errors.As(err, &invalid):
		status, msg = http.StatusUnprocessableEntity, invalid.Field+" "+invalid.Reason
	case errors.Is(err, webhooks.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, webhooks.ErrInvalidSettings), errors.Is(err, webhooks.ErrInvalidPayload):
		status = http.StatusUnprocessableEntity
	case errors.Is(err, webhooks.ErrClosed):
		status = http.StatusServiceUnavailable
	default:
		return nil
	}
	return &pipeline.Error{Status: status, Messages: []string{msg}, Err: err}
}

// importMessage is the message of a refused import: how many problems, and
// the first.
func importMessage(e *store.ImportError) string {
	n := len(e.Problems) + e.More
	if n == 1 {
		return "the state is refused: " + e.Problems[0].String()
	}
	return fmt.Sprintf("the state is refused: %d problems, the first: %s", n, e.Problems[0])
}
