//go:build race

package report

// raceEnabled scales down tests that the race detector makes slow.
const raceEnabled = true
