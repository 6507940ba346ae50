package state

import (
	lru "container/list"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"

	"modernc.org/sqlite"
)

// stmtCacheSize bounds the prepared statements a connection keeps: the
// sync's and the queue's statements are a few dozen distinct texts; the
// ones built with a variable number of placeholders come and go.
const stmtCacheSize = 256

// connector opens SQLite connections that keep their prepared statements.
//
// database/sql prepares, runs and finalizes a statement for each
// ExecContext or QueryContext on a driver that runs queries itself, as
// modernc's does: SQLite parses the text every time. The profile of the
// backfill put a third of its CPU time in parsing (the queue's statements
// are long), all of it on the single connection the other workers wait
// for. A connection of connector parses each distinct text once and runs
// it again from its prepared statement (SQLite re-prepares it by itself
// after a schema change).
type connector struct {
	dsn string
	drv *sqlite.Driver
	// statements counts the statements its connections run.
	statements atomic.Uint64
}

// Connect opens a connection.
func (c *connector) Connect(context.Context) (driver.Conn, error) {
	raw, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return newCachingConn(raw, &c.statements)
}

// Driver is the underlying SQLite driver.
func (c *connector) Driver() driver.Driver { return c.drv }

// sqliteConn is what database/sql uses of a modernc connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// contextStmt is what a modernc statement does.
type contextStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

func newCachingConn(raw driver.Conn, statements *atomic.Uint64) (driver.Conn, error) {
	sc, ok := raw.(sqliteConn)
	if !ok {
		_ = raw.Close()
		return nil, fmt.Errorf("state: the SQLite connection (%T) lacks the context methods", raw)
	}
	return &cachingConn{sqliteConn: sc, byText: map[string]*lru.Element{}, order: lru.New(), statements: statements}, nil
}

// cachingConn is a connection with an LRU cache of prepared statements.
// database/sql uses a connection from one goroutine at a time (the rows
// of a query included), so the cache needs no lock.
type cachingConn struct {
	sqliteConn
	byText map[string]*lru.Element // of *cachedStmt
	order  *lru.List               // most recently used first
	// statements counts the statements run (ExecContext, QueryContext).
	statements *atomic.Uint64
}

// cachedStmt is a prepared statement; busy while rows of it are open (a
// second query of the same text then runs uncached).
type cachedStmt struct {
	text string
	stmt contextStmt
	busy bool
}

// stmt returns the prepared statement of text, preparing it when it is
// not cached; nil (and no error) when it is busy.
func (c *cachingConn) stmt(ctx context.Context, text string) (*cachedStmt, error) {
	if el, ok := c.byText[text]; ok {
		c.order.MoveToFront(el)
		cs := el.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	s, err := c.sqliteConn.PrepareContext(ctx, text)
	if err != nil {
		return nil, err
	}
	st, ok := s.(contextStmt)
	if !ok {
		return nil, errors.Join(fmt.Errorf("state: the SQLite statement (%T) lacks the context methods", s), s.Close())
	}
	cs := &cachedStmt{text: text, stmt: st}
	c.byText[text] = c.order.PushFront(cs)
	c.evict()
	return cs, nil
}

// evict closes the least recently used statements beyond the cache's
// size, skipping busy ones (their rows close them later).
func (c *cachingConn) evict() {
	for el := c.order.Back(); el != nil && c.order.Len() > stmtCacheSize; {
		prev := el.Prev()
		if cs := el.Value.(*cachedStmt); !cs.busy {
			c.order.Remove(el)
			delete(c.byText, cs.text)
			_ = cs.stmt.Close()
		}
		el = prev
	}
}

// ExecContext runs a statement from the cache.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.statements.Add(1)
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return cs.stmt.ExecContext(ctx, args)
}

// QueryContext runs a query from the cache; its statement is busy until
// the rows close.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.statements.Add(1)
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cr, ok := rows.(columnRows)
	if !ok {
		return nil, errors.Join(fmt.Errorf("state: the SQLite rows (%T) lack the column types", rows), rows.Close())
	}
	cs.busy = true
	return &cachedRows{columnRows: cr, stmt: cs}, nil
}

// Close closes the cached statements and the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for el := c.order.Front(); el != nil; el = el.Next() {
		errs = append(errs, el.Value.(*cachedStmt).stmt.Close())
	}
	c.order.Init()
	clear(c.byText)
	return errors.Join(append(errs, c.sqliteConn.Close())...)
}

// columnRows are modernc's rows: with the column types database/sql's
// ColumnTypes reads.
type columnRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows free their statement for the next query when they close.
type cachedRows struct {
	columnRows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.columnRows.Close()
	r.stmt.busy = false
	return err
}
