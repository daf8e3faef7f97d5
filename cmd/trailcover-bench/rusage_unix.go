//go:build unix

package main

import (
	"runtime"
	"syscall"
)

// maxRSS returns the peak resident set of a reaped process in bytes from
// its rusage (ProcessState.SysUsage): kilobytes on Linux and the BSDs,
// bytes on macOS.
func maxRSS(usage any) int64 {
	ru, ok := usage.(*syscall.Rusage)
	if !ok || ru == nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) * 1024
}
