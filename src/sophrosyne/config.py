"""Settings: every knob Sophrosyne reads from the environment (prefix ``SOPHROSYNE_``).

Nothing is read at import; ``Settings()`` is built by the composition roots and the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration; see the README for what each setting does."""

    model_config = SettingsConfigDict(env_prefix="SOPHROSYNE_", extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="Where SQLite and files live.")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means SQLite at <data_dir>/sophrosyne.db.",
    )
    config_dir: Path | None = Field(
        default=None, description="Directory of YAML config-as-code files loaded at start."
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL",
        description="FULL survives power loss; NORMAL only process crashes (faster).",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    worker_slots: int = Field(default=4, ge=1, le=256, description="Runs executed at once.")
    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    worker_heartbeat_seconds: float = Field(default=5.0, gt=0, le=300)
    worker_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A running run whose worker has not beaten for this long is interrupted.",
    )
    output_cap_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Output kept per run (stdout+stderr)."
    )
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    secret_key: str | None = Field(
        default=None,
        repr=False,
        description="Key (base64url of 32 bytes) that encrypts target credentials at rest.",
    )
    secret_key_file: Path | None = Field(
        default=None, description="File holding the secret key (mode 600); instead of the key."
    )
    secret_old_keys: str = Field(
        default="",
        repr=False,
        description="Retired keys, comma separated: they only decrypt (during a rotation).",
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long a verified token is remembered in-process (0: never).",
    )
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Mark the session cookie Secure: auto = when the request came over https.",
    )
    session_idle_seconds: float = Field(
        default=3600.0, gt=0, description="A login session ends after this long without use."
    )
    session_lifetime_seconds: float = Field(
        default=12 * 3600.0, gt=0, description="A login session ends this long after login."
    )
    token_default_days: int = Field(
        default=90, ge=1, description="Expiry of a user's API token when none is asked for."
    )
    token_max_days: int = Field(
        default=365, ge=1, description="The longest a user's API token may live."
    )
    init_admin_password: SecretStr | None = Field(
        default=None,
        description="Password of the user 'admin' created at the first start, while no user "
        "exists (it must be changed at the first login).",
    )
    init_admin_password_file: Path | None = Field(
        default=None, description="File holding that password, instead of the variable."
    )

    attachment_max_bytes: int = Field(
        default=5 * 1024 * 1024,
        ge=1024,
        description="Largest file accepted as a recommendation's attachment.",
    )
    fix_window_seconds: int = Field(
        default=1800,
        ge=60,
        le=7 * 86400,
        description="A fix worked if its alert resolved within this long after it was applied.",
    )
    fix_signature_labels: str = Field(
        default="alertname,service,role,job",
        description="Labels (comma separated) whose values make an alert's signature for the "
        "history of fixes; hosts are left out so what worked on one applies to its peers.",
    )
    incident_group_by: str = Field(
        default="alertname,cluster,namespace,service",
        description="Labels (comma separated) the default incident grouping rule groups by.",
    )
    incident_window_seconds: int = Field(
        default=3600,
        ge=1,
        le=30 * 86400,
        description="An alert joins an open incident of its group opened at most this long ago.",
    )
    incident_auto_resolve: bool = Field(
        default=True,
        description="Incidents of the default rule resolve when all their alerts have resolved.",
    )

    escalation_policy: str | None = Field(
        default=None,
        description="Escalation policy started for every new incident (None: routes only).",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8080",
        description="How people reach this server: links in notifications start with it.",
    )
    notify_smtp_url: SecretStr | None = Field(
        default=None,
        description="Apprise mailto:// or mailtos:// URL of the SMTP server that e-mails "
        "people (escalations to users and on-call); the recipient is added as to=.",
    )
    notify_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="A notification not sent by then has failed."
    )

    @property
    def signature_labels(self) -> tuple[str, ...]:
        """``fix_signature_labels`` as a tuple; ``alertname`` always comes first."""
        names = [n.strip() for n in self.fix_signature_labels.split(",") if n.strip()]
        return ("alertname", *dict.fromkeys(n for n in names if n != "alertname"))

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'sophrosyne.db').resolve()}"
        return self

    @model_validator(mode="after")
    def _token_days(self) -> Settings:
        if self.token_default_days > self.token_max_days:
            raise ValueError("token_default_days must not exceed token_max_days")
        return self
