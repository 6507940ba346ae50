package transport_test

import (
	"context"
	"fmt"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// A HighLevel client over the stack, against an in-process twin: create a
// contact, then read it back through the paging iterator.
func ExampleNew() {
	w, err := twintest.Start(twintest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()
	ctx := context.Background()
	stack := transport.New(transport.Config{
		Auth:   &transport.Bearer{Token: w.PIT(), Location: w.Location()},
		Specs:  []*openapi.Spec{w.HighLevelSpec()},
		Strict: true,
		Clock:  w.Clock(),
		Base:   w.Base(),
	})
	hl, err := highlevelapi.New(w.HighLevelURL(), stack.Client())
	if err != nil {
		fmt.Println(err)
		return
	}
	name := "Ada"
	if _, err := highlevelapi.OK(hl.CreateContactWithResponse(ctx, nil, highlevelapi.CreateContactDto{LocationId: w.Location(), FirstName: &name})); err != nil {
		fmt.Println(err)
		return
	}
	for contact, err := range hl.Contacts(ctx, highlevelapi.GetContactsParams{LocationId: w.Location()}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(*contact.FirstName)
	}
	_, err = highlevelapi.OK(hl.GetContactWithResponse(ctx, "nope", nil))
	fmt.Println(highlevelapi.IsNotFound(err))
	// Output:
	// Ada
	// true
}
