package m360api

import (
	"context"
	"errors"
	"iter"
)

// ErrNoBody is returned by the iterators for a 2xx answer without the JSON
// body the spec declares.
var ErrNoBody = errors.New("m360api: answer without a body")

// DefaultPageSize is the page size of the iterators, the API's largest.
const DefaultPageSize = 100

// Pages yields the records of a list read page by page (page from 1,
// pageSize per page) until a page comes back short or total is reached.
// fetch reads one page and tells the total. An error ends the iteration
// after it is yielded.
func Pages[T any](pageSize int, fetch func(page, pageSize int) (records []T, total int, err error)) iter.Seq2[T, error] {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	return func(yield func(T, error) bool) {
		seen := 0
		for page := 1; ; page++ {
			records, total, err := fetch(page, pageSize)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, r := range records {
				if !yield(r, nil) {
					return
				}
			}
			seen += len(records)
			if len(records) < pageSize || seen >= total {
				return
			}
		}
	}
}

// Contacts yields every contact params select, page after page; params'
// Page is ignored and its PageSize used when set.
func (c *ClientWithResponses) Contacts(ctx context.Context, params M360ListContactsParams) iter.Seq2[Contact, error] {
	return Pages(pageSize(params.PageSize), func(page, size int) ([]Contact, int, error) {
		p := params
		p.Page, p.PageSize = &page, &size
		res, err := OK(c.M360ListContactsWithResponse(ctx, &p))
		if err == nil && res.JSON200 == nil {
			err = ErrNoBody
		}
		if err != nil {
			return nil, 0, err
		}
		return res.JSON200.Result, res.JSON200.Total, nil
	})
}

// Tasks yields every task of the account params select, page after page.
func (c *ClientWithResponses) Tasks(ctx context.Context, params M360ListTasksParams) iter.Seq2[Task, error] {
	return Pages(pageSize(params.PageSize), func(page, size int) ([]Task, int, error) {
		p := params
		p.Page, p.PageSize = &page, &size
		res, err := OK(c.M360ListTasksWithResponse(ctx, &p))
		if err == nil && res.JSON200 == nil {
			err = ErrNoBody
		}
		if err != nil {
			return nil, 0, err
		}
		return res.JSON200.Result, res.JSON200.Total, nil
	})
}

func pageSize(p *PageSize) int {
	if p == nil {
		return DefaultPageSize
	}
	return *p
}
