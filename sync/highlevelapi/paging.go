package highlevelapi

import (
	"context"
	"errors"
	"iter"
)

// ErrNoBody is returned by the iterators for a 2xx answer without the JSON
// body the spec declares.
var ErrNoBody = errors.New("highlevelapi: answer without a body")

// Page sizes of the iterators: the API's largest.
const (
	ContactsPageSize = 100
	SearchPageSize   = 500
	// searchPageWindow is how far page numbers reach in a search; past it
	// the next page is asked for with searchAfter.
	searchPageWindow = 10_000
)

// Contacts yields every contact of GET /contacts/ that params select,
// newest first, following the startAfter and startAfterId cursors of each
// page's meta (both: one alone gives the first page again). params'
// cursors start the listing when set; its Limit is used when set.
func (c *ClientWithResponses) Contacts(ctx context.Context, params GetContactsParams) iter.Seq2[ListedContact, error] {
	return func(yield func(ListedContact, error) bool) {
		if params.Limit == nil {
			limit := float64(ContactsPageSize)
			params.Limit = &limit
		}
		for {
			res, err := OK(c.GetContactsWithResponse(ctx, &params))
			if err == nil && res.JSON200 == nil {
				err = ErrNoBody
			}
			if err != nil {
				yield(ListedContact{}, err)
				return
			}
			for _, contact := range res.JSON200.Contacts {
				if !yield(contact, nil) {
					return
				}
			}
			meta := res.JSON200.Meta
			if len(res.JSON200.Contacts) < int(*params.Limit) || meta.StartAfter == nil || meta.StartAfterId == nil {
				return
			}
			params.StartAfter, params.StartAfterId = meta.StartAfter, meta.StartAfterId
		}
	}
}

// Search yields every contact POST /contacts/search finds for body, page
// after page: by page number within the first 10,000 results, then with the
// searchAfter cursor of the last contact. body's Page and SearchAfter are
// where it starts; its PageLimit is used when set.
func (c *ClientWithResponses) Search(ctx context.Context, body SearchBodyV2DTO) iter.Seq2[SearchedContact, error] {
	return func(yield func(SearchedContact, error) bool) {
		if body.PageLimit <= 0 {
			body.PageLimit = SearchPageSize
		}
		page := 1
		if body.Page != nil {
			page = *body.Page
		}
		for seen := 0; ; {
			if body.SearchAfter == nil {
				body.Page = &page
			}
			res, err := OK(c.SearchContactsAdvancedWithResponse(ctx, nil, body))
			if err == nil && res.JSON200 == nil {
				err = ErrNoBody
			}
			if err != nil {
				yield(SearchedContact{}, err)
				return
			}
			contacts := res.JSON200.Contacts
			for _, contact := range contacts {
				if !yield(contact, nil) {
					return
				}
			}
			seen += len(contacts)
			if len(contacts) < body.PageLimit || float64(seen) >= res.JSON200.Total {
				return
			}
			page++
			if body.SearchAfter != nil || page*body.PageLimit > searchPageWindow {
				last := contacts[len(contacts)-1].SearchAfter
				body.Page, body.SearchAfter = nil, &last
			}
		}
	}
}
