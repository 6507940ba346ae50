package state

import "strings"

// batchRows is the most rows one statement of a batch writes or reads
// (multi-row VALUES, IN lists): its widest, an effect's intent of 13
// parameters, takes 6,500, well under SQLite's 32,766 host parameters
// (and Postgres's 65,535).
const batchRows = 500

// rowsOf is a VALUES list of n rows, each row as given: "(?, ?), (?, ?)".
func rowsOf(n int, row string) string {
	return row + strings.Repeat(", "+row, n-1)
}
