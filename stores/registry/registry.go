// Package registry lists every data store dpsim knows: the one place that names them all. Adding a
// store means its package (with its Description), one line here, its manifests and its image recipe
// (see the README, "Adding a data store").
package registry

import (
	"dpsim/stores"
	"dpsim/stores/elastic"
	"dpsim/stores/hdfs"
	"dpsim/stores/kafka"
	"dpsim/stores/s3"
)

// All is every store, in the order reports list them.
var All = []stores.Description{kafka.Description, elastic.Description, hdfs.Description, s3.Description}

// Lookup finds a store by name.
func Lookup(name string) (stores.Description, bool) {
	for _, d := range All {
		if d.Name == name {
			return d, true
		}
	}
	return stores.Description{}, false
}
