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
// two runs never go on from, and overwrite, the same state. The file
// holds the PID of the last run that took it.
func lockState(name string) (unlock func(), err error) {
	return takeLock(name+".lock", "--state "+name, true)
}

// takeLock takes an exclusive lock on the file lockName, creating it. The
// lock is the kernel's (flock): it goes with the process however the
// process ends, so a killed run leaves no stale lock; the file stays.
// what names the locked thing in errors.
func takeLock(lockName, what string, recordPID bool) (unlock func(), err error) {
	f, err := os.OpenFile(lockName, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: lock: %w", what, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: another trailcover run holds %s", what, lockName)
		}
		return nil, fmt.Errorf("%s: lock %s: %w", what, lockName, err)
	}
	if recordPID {
		if err := f.Truncate(0); err == nil {
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
