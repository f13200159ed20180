package minio

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	miniogo "github.com/minio/minio-go/v7"

	"dpsim/images"
	"dpsim/internal/testenv"
)

// TestIntegrationBucket runs one MinIO server and removes a bucket with its objects: afterwards
// the bucket and its objects are gone, and a bucket that never existed is no error.
func TestIntegrationBucket(t *testing.T) {
	testenv.RequireDocker(t)
	ctx := context.Background()
	if _, err := images.Build(ctx, testenv.Logger(t), []string{images.MinIO}, images.Options{}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("docker", "network", "create", "dpsim-it-bucket").CombinedOutput(); err != nil {
		t.Fatalf("docker network create: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", "dpsim-it-bucket").Run() })
	s, err := Run(ctx, Config{Owner: "dpsim-it-bucket", Image: images.MustTag(images.MinIO), Network: "dpsim-it-bucket",
		Drives: 1, AccessKey: "dpsimadmin", SecretKey: "dpsim-object-store-secret", Logger: testenv.Logger(t)})
	t.Cleanup(func() { _ = RemoveAll(context.Background(), "dpsim-it-bucket") })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket(ctx, "tenant-x"); err != nil {
		t.Fatal(err)
	}
	c, err := s.client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a/1", "a/2", "b/3"} {
		if _, err := c.PutObject(ctx, "tenant-x", k, strings.NewReader("v"), 1, miniogoPutOptions()); err != nil {
			t.Fatal(err)
		}
	}
	objs, exists, err := s.Contents(ctx, "tenant-x")
	if err != nil || !exists || len(objs) != 3 {
		t.Fatalf("contents: %v %v %v", objs, exists, err)
	}
	if n, err := s.RemoveBucket(ctx, "tenant-x"); err != nil || n != 3 {
		t.Fatalf("remove: %d %v", n, err)
	}
	if objs, exists, err := s.Contents(ctx, "tenant-x"); err != nil || exists || len(objs) != 0 {
		t.Fatalf("after removal: %v %v %v", objs, exists, err)
	}
	if n, err := s.RemoveBucket(ctx, "never-made"); err != nil || n != 0 {
		t.Fatalf("a bucket that never existed: %d %v", n, err)
	}
}

func miniogoPutOptions() miniogo.PutObjectOptions { return miniogo.PutObjectOptions{} }
