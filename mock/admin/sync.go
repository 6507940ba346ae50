package admin

import (
	"context"
	"fmt"
	"net/http"

	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// SyncView is what the dashboard's Sync panel shows of a sync attached to
// the twin (contactbridge up attaches its own): its status (connections,
// queue, lag, recent effects, errors) and the differences of the two sides
// as reconcile --dry-run finds them. Both answer JSON-encodable values.
type SyncView interface {
	Status(ctx context.Context) (any, error)
	Differences(ctx context.Context) (any, error)
}

// noSync is the answer of the sync operations while no sync is attached.
const noSync = "no sync is attached to this twin (run contactbridge up)"

// AttachSync makes v the sync the dashboard shows; nil detaches it. It may
// be called while the twin serves.
func (a *API) AttachSync(v SyncView) {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	a.syncView = v
}

// attached is the attached sync, or the 404 that says there is none.
func (a *API) attached() (SyncView, error) {
	a.syncMu.RLock()
	defer a.syncMu.RUnlock()
	if a.syncView == nil {
		return nil, &pipeline.Error{Status: http.StatusNotFound, Messages: []string{noSync}}
	}
	return a.syncView, nil
}

// syncAnswer answers what read gets of the attached sync.
func (a *API) syncAnswer(r *pipeline.Request, what string, read func(SyncView, context.Context) (any, error)) (pipeline.Response, error) {
	v, err := a.attached()
	if err != nil {
		return pipeline.Response{}, err
	}
	body, err := read(v, r.HTTP.Context())
	if err != nil {
		return pipeline.Response{}, fmt.Errorf("sync %s: %w", what, err)
	}
	return ok(body)
}

func (a *API) syncStatus(r *pipeline.Request) (pipeline.Response, error) {
	return a.syncAnswer(r, "status", SyncView.Status)
}

func (a *API) syncDifferences(r *pipeline.Request) (pipeline.Response, error) {
	return a.syncAnswer(r, "differences", SyncView.Differences)
}
