"""Every change this project makes to Rasa's internals, installed in one place: :func:`install`.

Where it is installed: ``ArchiveEventBroker.from_endpoint_config`` (``bot/rasa_server/broker.py``).
Rasa builds the event broker named in ``endpoints.yml`` once, in the Rasa server process only, for
plain ``rasa run`` from the project root and for ``python -m bot run`` alike, so both get the same
patches. Nothing else calls :func:`install` (tests call it, or the single patch they test).

Every patch was checked against Rasa Open Source 3.6.21. ``tests/unit/test_rasa_patches.py``
asserts that each replaced function or attribute still exists with the signature the patch was
written for, so a Rasa upgrade fails loudly there; each patch also has its own behaviour test.

The patches (what in Rasa is replaced -> our function, why; its behaviour test):

* ``rasa.core.actions.action.RemoteAction.run`` (wrapped; calls ``RemoteAction._utter_responses``)
  -> ``resilience.apologise_when_action_server_fails``: an apology in the citizen's language when
  the action server cannot be reached; ``tests/unit/test_resilience.py``.
* ``rasa.core.lock_store.RedisLockStore.get_lock`` (wrapped) -> ``resilience.harden_lock_store``:
  one clear log line when Redis cannot be reached; ``tests/unit/test_resilience.py``.
* ``rasa.core.lock_store.LockStore._acquire_lock`` (replaced; uses ``lock_store.LOCK_LIFETIME``,
  ``save_lock``, ``update_lock`` and ``TicketLock.tickets``) -> ``resilience.harden_lock_store``:
  a waiting message's ticket is never dropped with a dead holder's; ``tests/unit/test_resilience.py``.
* ``rasa.core.actions.action.RemoteAction._validate_action_result`` (replaced; uses
  ``RemoteAction.action_response_format_spec``) -> ``speedups.install``: the schema validator of
  action results is built once; ``tests/unit/test_rasa_speedups.py``.
* ``rasa.core.processor.MessageProcessor._should_handle_message`` (replaced, a static method) ->
  ``paused.install``: emergencies and crises are answered while staff have taken over;
  ``tests/unit/test_safety_paused.py``.

Not patches but subclasses that override Rasa's private methods (``bot/rasa_server/tracker_store.py``,
named in ``endpoints.yml``): ``SQLTrackerStore.stream_events`` (uses ``_event_query`` and
``_stream_new_events``), ``retrieve``, ``retrieve_full_tracker`` and ``save``, and ``__init__``
(the engine is built once by us, then ``TrackerStore.__init__`` is called and Rasa's tables,
``SQLTrackerStore.Base.metadata``, are created); their signatures are checked by the same test,
their behaviour by ``tests/unit/test_tracker_store.py`` and ``tests/unit/test_scale_config.py``.
"""
from __future__ import annotations

from bot.rasa_server.patches import paused, resilience, speedups

_installed = False


def install() -> None:
    """Installs every patch listed in the module docstring (once per process; later calls do nothing)."""
    global _installed
    if _installed:
        return
    resilience.apologise_when_action_server_fails()
    resilience.harden_lock_store()
    speedups.install()
    paused.install()  # emergencies and crises are answered also while staff have taken over
    _installed = True
