//go:build unix

package ingest

import "syscall"

// openNonBlocking opens a named pipe without waiting for a writer, so
// that openFile can see it is not a regular file and refuse it instead of
// hanging the run; it changes nothing for regular files.
const openNonBlocking = syscall.O_NONBLOCK
