//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// lockState takes an exclusive lock on name+".lock" for the run, so that
// two runs never go on from, and overwrite, the same state. The lock is
// the kernel's (flock): it goes with the process however the process
// ends, so a killed run leaves no stale lock; the file stays, holding the
// PID of the last run that took it.
func lockState(name string) (unlock func(), err error) {
	lockName := name + ".lock"
	f, err := os.OpenFile(lockName, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--state: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("--state %s: another trailcover run holds %s", name, lockName)
		}
		return nil, fmt.Errorf("--state: lock %s: %w", lockName, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
