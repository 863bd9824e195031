import pytest

from entrypoints.settings import SettingsError, load_settings, read_environment, require_telegram

TOKEN = "123456:ABCdefGHIjklMNOpqrsTUVwxyz"


def test_the_simulator_needs_no_environment_at_all():
    settings = load_settings({})
    assert settings.KIE_MODE == "fake" and settings.CURRENCY == "RUB" and settings.PORT == 8000


def test_admin_ids_may_be_comma_separated():
    assert load_settings({"ADMIN_ID": "1, 22,333"}).ADMIN_ID == (1, 22, 333)


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"ADMIN_ID": "me"}, "ADMIN_ID"),
        ({"BOT_MODE": "carrier-pigeon"}, "BOT_MODE"),
        ({"CURRENCY": "ABC"}, "CURRENCY"),
        ({"WELCOME_BALANCE": "-1"}, "WELCOME_BALANCE"),
        ({"WEBHOOK_SECRET_PATH": "a/b"}, "WEBHOOK_SECRET_PATH"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ],
)
def test_an_invalid_value_stops_with_one_line_naming_the_variable(env, variable):
    with pytest.raises(SettingsError) as error:
        load_settings(env)
    message = str(error.value)
    assert variable in message and "\n" not in message


@pytest.mark.parametrize("variable", ["TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET_TOKEN", "KIE_CALLBACK_TOKEN"])
def test_a_malformed_secret_is_named_but_never_printed(variable):
    secret = "sEcReT value with spaces"
    with pytest.raises(SettingsError) as error:
        load_settings({variable: secret})
    assert variable in str(error.value) and secret not in str(error.value)


def test_polling_needs_only_the_token():
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        require_telegram(load_settings({}))
    require_telegram(load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "KIE_API_KEY": "kie_abc"}))


def test_on_telegram_the_fake_generator_must_be_asked_for_explicitly():
    with pytest.raises(SettingsError, match="KIE_API_KEY.*KIE_MODE=fake"):
        require_telegram(load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}))
    require_telegram(load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "KIE_MODE": "fake"}))


def test_a_database_url_of_another_database_is_refused_without_printing_it():
    with pytest.raises(SettingsError, match="DATABASE_URL") as error:
        load_settings({"DATABASE_URL": "mysql://user:pw@x/db"})
    assert "pw" not in str(error.value)
    assert load_settings({"DATABASE_URL": "postgres://u@h/db"}).DATABASE_URL is not None


def test_webhook_mode_names_the_first_missing_variable():
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET_PATH"):
        require_telegram(load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_MODE": "webhook", "WEBHOOK_BASE_URL": "https://x.example"}))


def test_render_external_url_is_the_default_webhook_base():
    settings = load_settings({"RENDER_EXTERNAL_URL": "https://trt.onrender.com/", "WEBHOOK_SECRET_PATH": "secretpath1"})
    assert settings.webhook_url() == "https://trt.onrender.com/webhook/secretpath1"


def test_kie_callback_url_needs_a_public_base_and_a_token():
    assert load_settings({"WEBHOOK_BASE_URL": "https://x.example"}).kie_callback_url() is None
    settings = load_settings({"WEBHOOK_BASE_URL": "https://x.example", "KIE_CALLBACK_TOKEN": "cbtoken123", "KIE_CALLBACK_PATH": "/callbacks/kie"})
    assert settings.kie_callback_url() == "https://x.example/callbacks/kie?token=cbtoken123"


def test_dotenv_is_read_and_the_real_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("PORT=9000\nBOT_MODE=webhook\n# a comment\nexport CURRENCY='USD'\n")
    monkeypatch.setenv("PORT", "9100")
    env = read_environment(tmp_path)
    settings = load_settings(env)
    assert (settings.PORT, settings.BOT_MODE, settings.CURRENCY) == (9100, "webhook", "USD")


def test_secrets_lists_every_value_to_mask():
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_SECRET_TOKEN": "tok_en", "WEBHOOK_SECRET_PATH": "pathpath1",
                              "KIE_API_KEY": "kie_key", "DATABASE_URL": "postgresql://u:pw@h/db"})
    assert set(settings.secrets()) == {TOKEN, "tok_en", "pathpath1", "kie_key", "postgresql://u:pw@h/db"}


def test_a_kie_key_switches_the_generator_to_the_real_api_unless_told_otherwise():
    assert load_settings({"KIE_API_KEY": "kie_abc"}).KIE_MODE == "real"
    assert load_settings({"KIE_API_KEY": "kie_abc", "KIE_MODE": "fake"}).KIE_MODE == "fake"


def test_the_real_api_without_a_key_stops_the_start_naming_it():
    with pytest.raises(SettingsError, match="KIE_API_KEY"):
        load_settings({"KIE_MODE": "real"})
