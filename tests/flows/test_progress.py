"""callreview.flows.progress: the listener the CLI's progress bar hands to the inbox flow."""
import pickle

import cloudpickle
from rich.progress import Progress

from callreview.flows.progress import ProgressListener


def test_a_listener_calls_its_report_with_file_and_status():
    heard = []
    ProgressListener(lambda *call: heard.append(call))("CR-1.wav", "processed")
    assert heard == [("CR-1.wav", "processed")]


def test_a_listener_holding_a_progress_bar_pickles_to_one_that_does_nothing():
    # Prefect pickles the flow's parameters with every task sent to a Dask worker; a rich progress bar
    # (locks, a console on stderr) cannot be pickled, and a worker must not try to draw it.
    heard = []
    with Progress(disable=True) as bar:
        job = bar.add_task("calls", total=1)
        listener = ProgressListener(lambda name, status: (bar.update(job, advance=1), heard.append(name)))
        copy = pickle.loads(cloudpickle.dumps(listener))
        copy("CR-1.wav", "processed")
        assert heard == []
        listener("CR-1.wav", "processed")
        assert heard == ["CR-1.wav"] and bar.tasks[0].completed == 1
