"""Start-up ordering (issue 21): work the first model request does not need starts only once that request is out."""

import trio
import trio.testing

from codex_actors.testing import response, text_message
from codex_actors.tools.router import ToolRouter

from tests.session.scripted import scripted_session, user_turn


async def test_deferred_tool_work_waits_for_the_first_request_and_not_for_its_answer(tmp_path):
    ran = []

    async def build(nursery, services):
        services.after_first_request[:] = [lambda: ran.append("sync job"), lambda: _async_job(ran)]
        return ToolRouter([])

    # The model never answers within the test: only the request having gone out can release the jobs.
    script = [response(text_message("late"), delay=60)]
    async with scripted_session(script, tmp_path, build_tools=build) as (session, server):
        await trio.testing.wait_all_tasks_blocked()
        assert ran == []
        await session.submit(user_turn("hi", tmp_path))
        with trio.fail_after(10):
            while len(ran) < 2:
                await trio.sleep(0.01)
        assert ran == ["sync job", "async job"]


async def _async_job(ran):
    await trio.lowlevel.checkpoint()
    ran.append("async job")
