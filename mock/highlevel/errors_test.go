package highlevel

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

func TestMapError_WordsStoreErrorsAsTheVendor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		wantBody string // "" when the error is not this API's to word
	}{
		{"contact not found", &store.NotFoundError{Kind: "Contact", ID: "abc"},
			`{"statusCode":404,"message":"Contact not found","error":"Not Found"}`},
		{"wrapped task not found", fmt.Errorf("update task: %w", &store.NotFoundError{Kind: "Task", ID: "t1"}),
			`{"statusCode":404,"message":"Task not found","error":"Not Found"}`},
		{"duplicate", &store.DuplicateError{ContactID: "c1", Field: "email"},
			`{"statusCode":400,"message":"This location does not allow duplicated contacts.","error":"Bad Request","meta":{"contactId":"c1","matchingField":"email"}}`},
		{"invalid", &store.InvalidError{Field: "contacts[x].locationId", Reason: "names no location of the state"},
			`{"statusCode":422,"message":["contacts[x].locationId names no location of the state"],"error":"Unprocessable Entity"}`},
		{"conflict is not HighLevel's", &store.ConflictError{Field: "email", Reason: "is taken"}, ""},
		{"plain", errors.New("disk on fire"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := MapError(tc.err)
			if tc.wantBody == "" {
				if e != nil {
					t.Fatalf("MapError(%v) = %+v, want nil", tc.err, e)
				}
				return
			}
			if e == nil || !errors.Is(e, tc.err) {
				t.Fatalf("MapError(%v) = %v, want an error wrapping it", tc.err, e)
			}
			got, err := json.Marshal(RenderError(e))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.wantBody {
				t.Errorf("body\n got %s\nwant %s", got, tc.wantBody)
			}
		})
	}
}

func TestRenderError_MessageShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    *pipeline.Error
		want string
	}{
		{"422 lists every problem", pipeline.Unprocessable("email must be a string", "phone must be a string"),
			`{"statusCode":422,"message":["email must be a string","phone must be a string"],"error":"Unprocessable Entity"}`},
		{"401 joins", &pipeline.Error{Status: http.StatusUnauthorized, Messages: []string{"a", "b"}},
			`{"statusCode":401,"message":"a; b","error":"Unauthorized"}`},
		{"meta only on 400", &pipeline.Error{Status: http.StatusConflict, Messages: []string{"x"}, Meta: map[string]any{"k": "v"}},
			`{"statusCode":409,"message":"x","error":"Conflict"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(RenderError(tc.e))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("body\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
