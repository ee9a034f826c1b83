package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/jackc/pgx/v5"
)

func testTools(t *testing.T) *Tools {
	return &Tools{Dir: os.Getenv(ToolsDirEnv), Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
}

// TestStack starts the whole stack, uses every service through its real
// client, checks that each listens on loopback only, stops it and checks
// that no process is left; then starts it again to see the installed tools
// reused.
func TestStack(t *testing.T) {
	tools := testTools(t)
	began := time.Now()
	s, err := Start(t.Context(), Config{
		RunDir: t.TempDir(),
		Tools:  tools,
		Logger: tools.Logger,
		Kafka:  KafkaConfig{Topics: []string{"orders"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first start took %s (includes any install)", time.Since(began).Round(time.Millisecond))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = s.Stop()
		}
	})

	ports := map[string]int{"dynamodb": s.DynamoDB.Port, "s3": s.S3.Port, "postgres": s.Postgres.Port, "kafka": brokerPort(t, s.Kafka.Brokers[0])}
	for name, port := range ports {
		addrs, err := ListenAddrs(port)
		if err != nil {
			t.Fatal(err)
		}
		if len(addrs) == 0 {
			t.Errorf("%s: nothing listens on %d", name, port)
		}
		for _, a := range addrs {
			if !a.IsLoopback() {
				t.Errorf("%s listens on %s:%d, beyond loopback", name, a, port)
			}
		}
	}
	if !s.DynamoDB.Loopback {
		t.Error("DynamoDB Local was not confined to loopback (is gcc installed?)")
	}

	t.Run("services", func(t *testing.T) {
		t.Run("dynamodb", func(t *testing.T) { t.Parallel(); exerciseDynamoDB(t, s.DynamoDB.Client()) })
		t.Run("s3", func(t *testing.T) { t.Parallel(); exerciseS3(t, s.S3.Client(), s.S3.DataDir) })
		t.Run("postgres", func(t *testing.T) { t.Parallel(); exercisePostgres(t, s.Postgres) })
		t.Run("kafka", func(t *testing.T) { t.Parallel(); roundTrip(t.Context(), t, s.Kafka.Brokers, "orders") })
	})
	t.Run("env", func(t *testing.T) { exerciseEnv(t, s) })

	var pids []int
	for _, p := range s.Processes() {
		pids = append(pids, ProcessTree(p.Pid())...)
	}
	if len(pids) < 3 {
		t.Fatalf("process trees %v: want at least java, versitygw and postgres", pids)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if !waitFor(5*time.Second, func() bool { return !anyAlive(pids) }) {
		t.Errorf("alive after Stop: %v", alive(pids))
	}
	for name, port := range ports {
		if addrs, _ := ListenAddrs(port); len(addrs) != 0 {
			t.Errorf("%s: after Stop port %d still listens on %v", name, port, addrs)
		}
	}

	// A second start installs nothing.
	before := toolFiles(t, tools)
	began = time.Now()
	s2, err := Start(t.Context(), Config{RunDir: t.TempDir(), Tools: tools, Logger: tools.Logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("warm start took %s", time.Since(began).Round(time.Millisecond))
	if err := s2.Stop(); err != nil {
		t.Fatal(err)
	}
	if after := toolFiles(t, tools); !maps.EqualFunc(before, after, time.Time.Equal) {
		t.Errorf("second start changed the tools: before %v, after %v", before, after)
	}
}

// toolFiles returns the modification times of the installed tools.
func toolFiles(t *testing.T, tools *Tools) map[string]time.Time {
	t.Helper()
	ctx := t.Context()
	ddb, err := tools.DynamoDBLocal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := tools.VersityGW(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shim, err := tools.LoopbackShim(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]time.Time{}
	for _, f := range []string{ddb.Jar, gw, shim} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		files[f] = st.ModTime()
	}
	return files
}

func exerciseDynamoDB(t *testing.T, c *dynamodb.Client) {
	ctx := t.Context()
	table := "orders-" + strings.ToLower(rand8())
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeN},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "user-1"},
			"sk": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(i)},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A conditional put on an existing key fails as on AWS.
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
		Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "user-1"},
			"sk": &ddbtypes.AttributeValueMemberN{Value: "0"},
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Errorf("conditional put on an existing item: %v, want ConditionalCheckFailedException", err)
	}
	out, err := c.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk AND sk >= :one"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": &ddbtypes.AttributeValueMemberS{Value: "user-1"}, ":one": &ddbtypes.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 2 {
		t.Errorf("query returned %d items, want 2", out.Count)
	}
	if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
		t.Fatal(err)
	}
}

func exerciseS3(t *testing.T, c *s3.Client, dataDir string) {
	ctx := t.Context()
	bucket := "lake-" + strings.ToLower(rand8())
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	body := []byte("order_id,amount\no-1,12.50\n")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("orders/dt=2026-01-01/part-0.csv"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	// The lake is plain files.
	if got, err := os.ReadFile(filepath.Join(dataDir, bucket, "orders", "dt=2026-01-01", "part-0.csv")); err != nil || !bytes.Equal(got, body) {
		t.Errorf("object as a file: %q, %v; want %q", got, err, body)
	}

	// Multipart: a 5 MiB part and a short last one.
	part1 := bytes.Repeat([]byte("a"), 5<<20)
	part2 := []byte("tail")
	key := "big/object.bin"
	mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	var parts []s3types.CompletedPart
	for i, p := range [][]byte{part1, part2} {
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: mp.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, s3types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: mp.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	// Ranged GET across the part boundary.
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String(fmt.Sprintf("bytes=%d-%d", len(part1)-2, len(part1)+1))})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil || string(got) != "aata" {
		t.Errorf("ranged GET = %q, %v; want %q", got, err, "aata")
	}
	if st, err := os.Stat(filepath.Join(dataDir, bucket, "big", "object.bin")); err != nil || st.Size() != int64(len(part1)+len(part2)) {
		t.Errorf("multipart object as a file: %v, %v", st, err)
	}

	// ListObjectsV2 with a prefix and pages of one.
	var keys []string
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	if want := []string{key, "orders/dt=2026-01-01/part-0.csv"}; !slices.Equal(keys, want) {
		t.Errorf("listed %v, want %v", keys, want)
	}
	prefixed, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("orders/")})
	if err != nil || len(prefixed.Contents) != 1 {
		t.Errorf("list with prefix orders/: %v, %v", prefixed, err)
	}

	// DeleteObject and DeleteObjects.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("tmp/%d", i)), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{
		{Key: aws.String("tmp/0")}, {Key: aws.String("tmp/1")}, {Key: aws.String("tmp/2")}, {Key: aws.String("orders/dt=2026-01-01/part-0.csv")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.Deleted) != 4 || len(del.Errors) != 0 {
		t.Errorf("DeleteObjects deleted %d with errors %v, want 4 and none", len(del.Deleted), del.Errors)
	}
	left, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil || len(left.Contents) != 0 {
		t.Errorf("after deletes the bucket holds %v (%v), want nothing", left.Contents, err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GET of a deleted object: %v, want NoSuchKey", err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
}

func exercisePostgres(t *testing.T, p *Postgres) {
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, p.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var version, listen, db string
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num'), current_setting('listen_addresses'), current_database()").Scan(&version, &listen, &db); err != nil {
		t.Fatal(err)
	}
	if listen != "127.0.0.1" || db != "shopstream" {
		t.Errorf("listen_addresses %q, database %q; want 127.0.0.1 and shopstream", listen, db)
	}
	t.Logf("PostgreSQL %s", version)
	if _, err := conn.Exec(ctx, "CREATE TABLE alerts (id text PRIMARY KEY, score int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO alerts VALUES ('a1', 90), ('a2', 40)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM alerts WHERE score > $1", 50).Scan(&n); err != nil || n != 1 {
		t.Errorf("count = %d, %v; want 1", n, err)
	}
	// A login needs the password.
	wrong := *p
	wrong.Password = "not-the-password"
	if c, err := pgx.Connect(ctx, wrong.DatabaseURL("shopstream")); err == nil {
		c.Close(ctx)
		t.Error("connected with a wrong password")
	}
	// The database URL of another database works on the same server.
	if err := p.CreateDatabase(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	c2, err := pgx.Connect(ctx, p.DatabaseURL("other"))
	if err != nil {
		t.Fatal(err)
	}
	c2.Close(ctx)
}

// exerciseEnv checks that Env is enough for an SDK client configured the
// ordinary way (config.LoadDefaultConfig), with no path-style option.
func exerciseEnv(t *testing.T, s *Stack) {
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("DynamoDB from the environment: %v", err)
	}
	c := s3.NewFromConfig(cfg)
	bucket := "env-" + strings.ToLower(rand8())
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("S3 from the environment: %v", err)
	}
	if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Errorf("S3 from the environment: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.S3.DataDir, bucket, "k")); err != nil {
		t.Errorf("object written through the environment's endpoint: %v", err)
	}
	if !slices.ContainsFunc(s.Env(), func(kv string) bool { return strings.HasPrefix(kv, "DATABASE_URL=postgres://") }) {
		t.Errorf("Env() = %v, want DATABASE_URL", s.Env())
	}
}

func rand8() string { return NewCredentials().AccessKeyID[7:15] }
