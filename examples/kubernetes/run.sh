#!/usr/bin/env bash
# Runs a sharded load test on the cluster of the current kubectl context and judges it:
#
#   examples/kubernetes/run.sh perf/loadgate.yaml [https://staging.example.com]
#
# 1. Stores the profile in the ConfigMap `loadgate-profile`, and one start time for every shard
#    (now + LOADGATE_LEAD, default 2 minutes: enough for the pods to be scheduled, pull the image
#    and find the target ready) with a run id in the ConfigMap `loadgate-run`.
# 2. Starts the Indexed Job of shards (shards-job.yaml) and waits until it completes or fails.
# 3. Starts the report job (report-job.yaml), which merges the shards and judges the run, and
#    prints its log; exits with the report job's outcome.
set -euo pipefail

profile=${1:?usage: run.sh PROFILE [TARGET]}
target=${2:-}
lead=${LOADGATE_LEAD:-2 minutes}
here=$(cd "$(dirname "$0")" && pwd)

start_at=$(date -u -d "+$lead" +%Y-%m-%dT%H:%M:%SZ)
run_id=$(date -u +%Y%m%dT%H%M%SZ)

# Waits for a Job to complete (0) or fail (1), polling its status.
wait_job() {
  local job=$1 status
  while true; do
    status=$(kubectl get "job/$job" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
    case " $status " in
      *" Complete "*) return 0 ;;
      *" Failed "*) return 1 ;;
    esac
    sleep 5
  done
}

kubectl delete job loadgate-shards loadgate-report --ignore-not-found --wait=true
kubectl create configmap loadgate-profile --from-file=loadgate.yaml="$profile" \
  --dry-run=client -o yaml | kubectl apply -f -
run_values=(--from-literal=start-at="$start_at" --from-literal=run="$run_id")
if [ -n "$target" ]; then
  run_values+=(--from-literal=target="$target")
fi
kubectl create configmap loadgate-run "${run_values[@]}" --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f "$here/results-pvc.yaml" -f "$here/shards-job.yaml"
echo "run $run_id: shards start their load at $start_at"
if ! wait_job loadgate-shards; then
  echo "a shard failed; its log:" >&2
  kubectl logs --selector=app.kubernetes.io/component=shard --prefix --tail=50 >&2 || true
  exit 1
fi
kubectl apply -f "$here/report-job.yaml"
outcome=0
wait_job loadgate-report || outcome=$?
kubectl logs job/loadgate-report
exit "$outcome"
