"""What ours' own /metrics count during a load cell: its model calls, their time on the model thread, and the
requests they carried.  bench/run.py reads them before and after each target cell, so the model's share of the
server's time is measured in the same seconds as its throughput, under the same load."""

from dataclasses import dataclass

import requests
from prometheus_client.parser import text_string_to_metric_families

CALLS = "mlstack_model_call_duration_seconds_count"
SECONDS = "mlstack_model_call_duration_seconds_sum"
REQUESTS = "mlstack_batch_size_sum"


@dataclass(frozen=True)
class ModelCalls:
    calls: float
    seconds: float
    requests: float

    def __sub__(self, earlier: "ModelCalls") -> "ModelCalls":
        return ModelCalls(self.calls - earlier.calls, self.seconds - earlier.seconds, self.requests - earlier.requests)

    @property
    def ms_per_call(self) -> float:
        return 1000 * self.seconds / self.calls

    @property
    def requests_per_call(self) -> float:
        return self.requests / self.calls

    @property
    def us_per_request(self) -> float:
        """The model's time, shared out over the requests its calls answered."""
        return 1e6 * self.seconds / self.requests


def model_calls(metrics_url: str) -> ModelCalls:
    text = requests.get(metrics_url, timeout=10).text
    unlabelled = {sample.name: sample.value for family in text_string_to_metric_families(text)
                  for sample in family.samples if not sample.labels}
    return ModelCalls(unlabelled[CALLS], unlabelled[SECONDS], unlabelled[REQUESTS])
