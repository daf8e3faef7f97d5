//go:build !unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// lockState creates name+".lock", holding the PID, for the run, so that
// two runs never go on from, and overwrite, the same state.
func lockState(name string) (unlock func(), err error) {
	return takeLock(name+".lock", "--state "+name, true)
}

// takeLock creates lockName, holding the PID, for the run, and removes it
// at the end. Without flock, a run that was killed leaves the file
// behind: the error says to remove it once no run is going.
func takeLock(lockName, what string, _ bool) (unlock func(), err error) {
	f, err := os.OpenFile(lockName, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		pid, _ := os.ReadFile(lockName)
		return nil, fmt.Errorf("%s: %s exists (PID %s): another run is going, or one was killed; remove it if none is", what, lockName, pid)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: lock: %w", what, err)
	}
	f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	f.Close()
	return func() { os.Remove(lockName) }, nil
}
