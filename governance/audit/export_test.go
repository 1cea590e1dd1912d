package audit

import "golang.org/x/mod/sumdb/tlog"

func storedHashes(n int64, data []byte, l *Log) ([]tlog.Hash, error) {
	return tlog.StoredHashes(n, data, l.reader())
}

func treeHash(n int64, l *Log) (tlog.Hash, error) { return tlog.TreeHash(n, l.reader()) }
