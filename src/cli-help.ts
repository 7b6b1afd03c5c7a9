// The text of `meridian --help` and of each command's --help.
export const HELP: Record<string, string> = {
  main: `meridian — multi-region edge router

Usage: meridian <command> [options]

Commands:
  serve     run the router from a config file
  validate  check a config file and print every error
  explain   show which region a request would go to, and why
  schema    print the config file's JSON Schema
  demo      run the router with three simulated regions on loopback
  drill     run the failover drill on the demo (same as: demo --drill); --fleet: the fleet drill
  fleet     fleet status: members, leader and write region (routers with \`fleet:\`)

Run 'meridian <command> --help' for a command's options.`,
  fleet: `Usage: meridian fleet status --config FILE [--json]

Asks the router running with FILE (its admin listener, GET /admin/fleet) for the fleet as it sees
it: this router's id and whether it is connected to etcd, the leader, the write region with its
epoch and state (active or handover), and every live member. Exit 0 when it answered, 1 when the
config is invalid or the router did not answer.

Options:
  -c, --config FILE     the router's YAML config (admin.listen is read from it)
      --json            print the admin endpoint's JSON as it is
  -h, --help            this text`,
  serve: `Usage: meridian serve --config FILE [--log-level LEVEL]

Runs the router. SIGHUP reloads the config file (an invalid file keeps the running config);
SIGTERM/SIGINT stop accepting, let in-flight requests finish (shutdownGrace), then exit 0.

Options:
  -c, --config FILE     YAML config (see config/reference.md)
      --log-level LEVEL fatal|error|warn|info|debug|trace|silent (default: $LOG_LEVEL or info)
  -h, --help            this text`,
  validate: `Usage: meridian validate --config FILE

Checks a config file. Exit 0 when valid; exit 1 printing every error as
file:line:col key.path: message.

Options:
  -c, --config FILE  YAML config
  -h, --help         this text`,
  schema: `Usage: meridian schema

Prints the JSON Schema (draft-07) of the config file, generated from the schema the loader uses;
config/meridian.schema.json is the same text. Editors with a YAML language server pick it up from
a first line such as  # yaml-language-server: $schema=./meridian.schema.json
The schema checks each key's shape; meridian validate also checks what spans keys.

Options:
  -h, --help  this text`,
  explain: `Usage: meridian explain --config FILE --ip IP [--method M] [--path P] [--header K=V ...] [--down REGION ...] [--json]

Prints the decision for one request: route, selector, reason, chosen region and the candidates
with their distances. Regions are assumed healthy unless named with --down; the write region is
the first of writes.regions that is not down.

Options:
  -c, --config FILE   YAML config
      --ip IP         client IP (GeoIP is looked up for it)
      --method M      HTTP method (default GET)
      --path P        request path (default /)
      --header K=V    request header, repeatable (e.g. x-user-id=42, cookie=uid=42)
      --down REGION   treat REGION as unavailable, repeatable
      --json          print JSON instead of text
  -h, --help          this text`,
  demo: `Usage: meridian demo [--drill [--fleet [--json]]] [--log-level LEVEL]

Starts three simulated regions (us-east :9001, eu-west :9002, ap-southeast :9003) and the router
(:8080, admin :9901) on 127.0.0.1 with config/demo.yaml, and prints curl commands to try.
With --drill it runs the failover drill instead: steady GET and POST load, one region killed
hard and revived, and a report of what the clients saw. With --drill --fleet it runs the fleet
drill (see meridian drill --help).

Options:
      --drill           run the failover drill and exit
      --fleet           with --drill: the fleet drill (etcd and three routers)
      --json            with --fleet: print the report as JSON
      --log-level LEVEL router log level (default: warn; info shows one access line per request)
  -h, --help            this text`,
};
HELP.drill = `Usage: meridian drill [--log-level LEVEL]
       meridian drill --evacuate [--over DURATION]
       meridian drill --fleet [--json]

The failover drill on the demo (same as: meridian demo --drill): starts the three simulated regions
and the router on their fixed demo ports, runs steady GET and POST load from a client in Germany,
kills eu-west hard, revives it, and prints detection time, time until traffic moved, failed
requests by method, retries used, time until traffic returned, and whether any POST was applied
twice. Exit 0 when no GET failed and no POST was applied twice.

With --evacuate it runs the evacuation drill instead (on free ports): steady GET load from 500
users in Germany, then eu-west drained gradually (drain {"over": DURATION}), printing per second
the share eu-west still took, its dial and the failed requests. Exit 0 when nothing failed, the
share never rose and eu-west was empty at the end.

With --fleet it runs the fleet drill (about 40 s; needs the etcd binary, or ETCD_BIN): a real etcd,
three router processes (\`meridian serve\`, lease 2 s) and three regions on loopback, write and read
load through every router, then in turn: the write region killed; one router cut off from etcd while
the write region is moved through another; the leader SIGKILLed and restarted; etcd stopped and
started again. Per phase and in total it prints writes sent, 2xx, 503 and other; the writes each
region applied per epoch; the overlap (time during which two regions took writes: must be 0); writes
lost (a 2xx with no backend record: 0); writes applied twice (0); reads failed (0); and each write
handover's time from the leader's write-handover-start to write-handover-done log lines. Exit 0 when
all those zeros hold, 1 when one does not, 2 when etcd cannot be run (with how to install it).

Options:
      --evacuate        run the evacuation drill
      --fleet           run the fleet drill
      --json            with --fleet: print the report as JSON (progress goes to stderr)
      --over DURATION   how long the evacuation takes (default 10s, 1s to 10m)
      --log-level LEVEL router log level (default: warn)
  -h, --help            this text`;
