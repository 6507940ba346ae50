package state

// BatchRows is batchRows, for the tests of the batches at their cap.
const BatchRows = batchRows
