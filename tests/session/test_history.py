from codex_actors.protocol import items
from codex_actors.session import compaction
from codex_actors.session.history import History


def user(text):
    return items.Message(role="user", content=[items.InputText(text)])


def test_prompt_gives_every_call_an_output_and_drops_orphans():
    call = items.FunctionCall(name="exec_command", arguments="{}", call_id="c1")
    custom = items.CustomToolCall(call_id="c2", name="exec", input="x")
    orphan = items.FunctionCallOutput(call_id="zz", output="lost")
    history = History([user("hi"), call, orphan, custom,
                       items.CustomToolCallOutput(call_id="c2", output="done")])
    assert history.for_prompt() == [
        user("hi"), call, items.FunctionCallOutput(call_id="c1", output="aborted"),
        custom, items.CustomToolCallOutput(call_id="c2", output="done"),
    ]


def test_token_estimate_adds_items_after_the_last_server_count():
    history = History([user("x" * 400)])
    first = history.estimated_tokens()
    assert 100 <= first <= 130
    history.record_usage(5000)
    assert history.estimated_tokens() == 5000
    history.append(user("y" * 400))
    assert 5100 <= history.estimated_tokens() <= 5130


def test_token_estimate_follows_items_replaced_removed_or_swapped_in():
    # Estimates are remembered per position between requests; whatever changes the items, the estimate must be
    # that of the items now there, as a fresh History computes it.
    def fresh(history):
        return History(list(history.items)).estimated_tokens()

    history = History([user("a" * 400), user("b" * 40)])
    before = history.estimated_tokens()
    assert before == fresh(history)
    history.items[0] = user("c" * 4000)
    assert history.estimated_tokens() == fresh(history) >= before + 900
    history.items.pop()
    history.append(user("d" * 800))
    history.append(user("e" * 8))
    assert history.estimated_tokens() == fresh(history)
    history.replace([user("f" * 40)])
    assert history.estimated_tokens() == fresh(history) < 50
    history.items = [user("g" * 4000)]
    assert history.estimated_tokens() == fresh(history) > 1000


def test_compacted_history_keeps_recent_user_messages_and_the_summary():
    context = items.Message(role="user", content=[items.InputText("<environment_context>\n</environment_context>")])
    old = [user(f"request {i}") for i in range(3)]
    history = [context, *old, items.Message(role="assistant", content=[items.OutputText("answer")])]
    new = compaction.compacted_history(history, "SUMMARY TEXT")
    assert new[:-1] == old
    assert new[-1] == user(compaction.SUMMARY_PREFIX + "\nSUMMARY TEXT")


def test_compacted_history_truncates_the_oldest_message_that_does_not_fit():
    huge = user("a" * 200_000)
    recent = user("recent")
    new = compaction.compacted_history([huge, recent], "S")
    assert new[1] == recent
    assert len(new[0].text()) < 200_000 and new[0].text().startswith("aaaa")


def test_auto_compact_limit_is_the_smaller_of_setting_and_90_percent():
    assert compaction.auto_compact_limit(100_000, None) == 90_000
    assert compaction.auto_compact_limit(100_000, 50_000) == 50_000
    assert compaction.auto_compact_limit(None, None) == 244_800


def test_a_message_whose_text_reaches_the_auto_compact_limit_is_refused_with_numbers():
    fits = user("x" * (4 * 89_999))
    assert compaction.oversized_input(fits, 100_000, None) is None
    refused = compaction.oversized_input(user("x" * (4 * 90_000)), 100_000, None)
    assert refused == ("the input is too long for the model: about 90,000 tokens (360,000 bytes), and at most "
                       "90,000 fit (model_auto_compact_token_limit, or 90% of the 100,000-token context window); "
                       "nothing was sent")
    image = items.Message(role="user", content=[items.InputText("look"),
                                                items.InputImage("data:image/png;base64," + "A" * 4_000_000)])
    assert compaction.oversized_input(image, 100_000, None) is None  # images are not counted as text


def test_a_message_compaction_shortened_is_named_in_a_note():
    huge = user("a" * 200_000)
    new = compaction.compacted_history([huge, user("recent")], "S")
    assert compaction.shortened_message_note([huge, user("recent")], new) == (
        f"compaction kept only the first {len(new[0].text()):,} of 200,000 characters of a message "
        "(20,000 tokens of user messages are kept)")
    whole = [user("short"), user("recent")]
    assert compaction.shortened_message_note(whole, compaction.compacted_history(whole, "S")) is None


def test_recall_merges_homes_by_time_and_skips_what_cannot_be_read(tmp_path):
    from codex_actors.session.persistence.history import recall_texts

    codex, ours = tmp_path / "codex", tmp_path / "ours"
    codex.mkdir()
    ours.mkdir()
    (codex / "history.jsonl").write_text('{"session_id":"c","ts":10,"text":"old codex"}\nnot json\n'
                                         '{"session_id":"c","ts":30,"text":"new codex"}\n')
    (ours / "history.jsonl").write_text('{"session_id":"a","ts":20,"text":"ours"}\n'
                                        '{"session_id":"a","ts":30,"text":"ours, same second"}\n')
    assert recall_texts(codex, ours) == ["old codex", "ours", "new codex", "ours, same second"]
    assert recall_texts(None, tmp_path / "absent", ours) == ["ours", "ours, same second"]
