//go:build !unix

package ingest

// openNonBlocking: elsewhere, opening does not wait on a named pipe.
const openNonBlocking = 0
