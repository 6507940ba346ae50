package state

import "strings"

// batchRows is the most rows one statement of a batch writes or reads
// (multi-row VALUES, IN lists): its widest, an effect's intent of 13
// parameters, takes 6,500, well under SQLite's 32,766 host parameters
// (and Postgres's 65,535).
//
// On SQLite a batch saves the statements' own costs (database/sql's and
// the driver's, half the allocations), but a write of several rows in a
// transaction opens a statement journal (the statement may fail after
// some rows), which costs about as much again: the backfill's CPU is the
// same either way. A database across a network (Postgres) saves a round
// trip a row.
const batchRows = 500

// rowsOf is a VALUES list of n rows, each row as given: "(?, ?), (?, ?)".
func rowsOf(n int, row string) string {
	return row + strings.Repeat(", "+row, n-1)
}
