"""The RQ worker behind `flask worker`: RQ's SimpleWorker (jobs run in the worker's process, inside the app
context of the command) that also prunes at RQ's maintenance ticks (see maintenance.prune_if_due)."""
from rq import SimpleWorker

from . import maintenance


class Worker(SimpleWorker):
    def run_maintenance_tasks(self):
        """RQ cleans its registries here at start-up and then every `maintenance_interval` (10 minutes),
        between jobs; the app's own housekeeping runs at most once an hour of these."""
        super().run_maintenance_tasks()
        maintenance.prune_if_due(self.connection)
