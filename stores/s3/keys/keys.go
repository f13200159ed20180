// Package keys names where a tenant's records live in the object store: the tenant's bucket, the
// key prefix of a dataset and the object key of a record id, and back. It depends on nothing but
// the standard library, so the in-cluster client (stores/s3) and the host side that reads the
// drives (topology/minio) share one mapping without the host side linking an S3 client.
//
// A tenant has one bucket (BucketName of the tenant). A dataset is the key prefix "<dataset>/" of
// that bucket, and the record id is the rest of the key: id "x/y" of dataset "d" is the object
// "d/x/y".
package keys

import (
	"fmt"
	"net"
	"strings"
)

// BucketName turns a tenant (or any name) into a valid S3 bucket name: lower case, characters
// outside [a-z0-9.-] become '-', 3 to 63 characters, starting and ending with a letter or digit.
// A valid bucket name is returned as it is, so a name already made by BucketName may be passed
// again.
func BucketName(name string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), ".-")
	for strings.Contains(s, "..") {
		s = strings.ReplaceAll(s, "..", ".")
	}
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], ".-")
	}
	if s == "" {
		return "", fmt.Errorf("bucket name from %q: nothing left", name)
	}
	for len(s) < 3 {
		s += "0"
	}
	if net.ParseIP(s) != nil {
		s = "b-" + s
	}
	return s, nil
}

// CheckDataset says whether dataset can name a prefix: it is not empty and holds no '/'.
func CheckDataset(dataset string) error {
	if dataset == "" || strings.Contains(dataset, "/") {
		return fmt.Errorf("s3 dataset %q: want a name without '/'", dataset)
	}
	return nil
}

// Prefix is the key prefix of a dataset: "<dataset>/".
func Prefix(dataset string) string { return dataset + "/" }

// Object is the object key of record id in dataset: Prefix(dataset) + id.
func Object(dataset, id string) string { return Prefix(dataset) + id }

// ID is the record id of an object key of dataset (the key without Prefix(dataset)); false when
// the key is not under the dataset's prefix or names no record.
func ID(dataset, key string) (string, bool) {
	id, ok := strings.CutPrefix(key, Prefix(dataset))
	return id, ok && id != ""
}
