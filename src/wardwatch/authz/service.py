"""Account use cases: login, sessions, tokens, MFA, role bindings and provisioning."""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import Connection, and_, insert, or_, select, update

from wardwatch.authz import store
from wardwatch.authz.model import (
    DEVICE_ROLES,
    PERMISSIONS,
    Binding,
    Grants,
    RoleCatalog,
    over_delegation,
    password_problems,
)
from wardwatch.authz.passwords import Passwords
from wardwatch.authz.principal import Principal
from wardwatch.authz.schemas import (
    AccountRequestCreate,
    AccountRequestView,
    Activation,
    ApprovalResult,
    BindingCreate,
    BindingView,
    LoginResponse,
    MeResponse,
    MfaEnrollResponse,
    PasswordChange,
    RoleView,
    TokenCreate,
    TokenCreated,
    TokenView,
    UserView,
)
from wardwatch.kernel.actor import Actor, ActorKind
from wardwatch.kernel.crypto import new_token, token_digest, token_lookup
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Forbidden, Invalid, Locked, NotFound, Unauthorized
from wardwatch.kernel.ids import new_id
from wardwatch.registry.model import OrgKind
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

U = store.users.c
B = store.role_bindings.c
S = store.sessions.c
T = store.api_tokens.c
R = store.account_requests.c

SESSION_PREFIX = "wws"
REQUESTING_LEVELS = frozenset({OrgKind.MINISTRY, OrgKind.PROVINCE})
TOKEN_PREFIX = "wwt"  # noqa: S105 - a public prefix that marks API tokens, not a secret
_SEEN_GRANULARITY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionInfo:
    id: str
    csrf_token: str
    mfa_pending: bool
    expires_at: datetime


@dataclass(frozen=True)
class NewSession:
    token: str
    info: SessionInfo
    response: LoginResponse


def _totp_context(user_id: str) -> str:
    return f"user:{user_id}:totp"


class AccountService:
    def __init__(
        self, deps: Deps, registry: RegistryService, roles: RoleCatalog, passwords: Passwords
    ) -> None:
        self.deps = deps
        self.registry = registry
        self.roles = roles
        self.passwords = passwords
        self.auth = deps.settings.auth

    # ---------------------------------------------------------------- principals

    def _bindings(self, conn: Connection, user_id: str) -> list[Binding]:
        rows = conn.execute(select(store.role_bindings).where(B.user_id == user_id)).all()
        paths = self.registry.paths_of(conn, sorted({r.node_id for r in rows}))
        return [
            Binding(r.id, r.user_id, r.node_id, paths[r.node_id], r.effect, r.role, r.permission)
            for r in rows
            if r.node_id in paths and (r.role is None or r.role in self.roles)
        ]

    def _principal(self, conn: Connection, user: DbRow, via: str, session_id: str | None = None) -> Principal:
        kind: ActorKind = "device" if user.kind == "device" else "user"
        actor = Actor(kind, user.id, user.username, user.home_node_id)
        return Principal(
            actor=actor,
            user_id=user.id,
            username=user.username,
            kind=user.kind,
            grants=Grants(self._bindings(conn, user.id), self.roles),
            locale=user.locale,
            session_id=session_id,
            via=via,  # type: ignore[arg-type]
        )

    def holders_of_role(self, conn: Connection, node_id: str, role: str) -> list[str]:
        """Enabled personal accounts that hold ``role`` over the node (no deny taking any of it).

        This is how "the facility supervisor" or "the enforcement team" is found when
        something must reach them: through the role bindings, not a list kept elsewhere.
        """
        node_path = self.registry.paths_of(conn, [node_id]).get(node_id)
        if node_path is None or role not in self.roles:
            return []
        ancestors = [p for p in node_path.split("/") if p]
        rows = conn.execute(
            select(B.user_id)
            .select_from(store.role_bindings.join(store.users, U.id == B.user_id))
            .where(
                and_(
                    B.node_id.in_(ancestors),
                    B.role == role,
                    B.effect == "allow",
                    U.disabled.is_(False),
                    U.kind == "person",
                )
            )
            .distinct()
        ).all()
        wanted = self.roles.permissions_of(role)
        holders = []
        for row in rows:
            grants = Grants(self._bindings(conn, row.user_id), self.roles)
            if not grants.missing(wanted, node_path):
                holders.append(row.user_id)
        return sorted(holders)

    def principal_of(self, user_id: str) -> Principal:
        """A principal for a known user (CLI and background work acting for a person)."""
        with self.deps.db.read() as conn:
            user = conn.execute(select(store.users).where(U.id == user_id)).first()
            if user is None:
                raise NotFound("not_found", params={"object": "user"})
            return self._principal(conn, user, "system")

    def _requires_mfa(self, conn: Connection, user_id: str) -> bool:
        required = set(self.auth.mfa_required_roles)
        if not required:
            return False
        roles = conn.execute(
            select(B.role).where(and_(B.user_id == user_id, B.effect == "allow", B.role.is_not(None)))
        ).scalars()
        return any(role in required for role in roles)

    def authenticate_session(self, token: str) -> tuple[Principal, SessionInfo] | None:
        lookup = token_lookup(token)
        if lookup is None or not token.startswith(SESSION_PREFIX + "_"):
            return None
        now = self.deps.clock.now()
        with self.deps.db.read() as conn:
            row = conn.execute(select(store.sessions).where(S.id == lookup)).first()
            if row is None or row.revoked_at is not None or now >= row.expires_at:
                return None
            if not hmac.compare_digest(bytes(row.token_hash), token_digest(token)):
                return None
            idle = timedelta(minutes=self.deps.settings.server.session_idle_minutes)
            if now - row.last_seen_at > idle:
                return None
            user = conn.execute(select(store.users).where(U.id == row.user_id)).first()
            if user is None or user.disabled:
                return None
            principal = self._principal(conn, user, "session", row.id)
        if now - row.last_seen_at > _SEEN_GRANULARITY:
            with self.deps.db.write() as wconn:
                wconn.execute(update(store.sessions).where(S.id == row.id).values(last_seen_at=now))
        return principal, SessionInfo(row.id, row.csrf_token, row.mfa_pending, row.expires_at)

    def authenticate_token(self, token: str) -> Principal | None:
        lookup = token_lookup(token)
        if lookup is None or not token.startswith(TOKEN_PREFIX + "_"):
            return None
        now = self.deps.clock.now()
        with self.deps.db.read() as conn:
            row = conn.execute(select(store.api_tokens).where(T.id == lookup)).first()
            if row is None or row.revoked_at is not None:
                return None
            if row.expires_at is not None and now >= row.expires_at:
                return None
            if not hmac.compare_digest(bytes(row.token_hash), token_digest(token)):
                return None
            user = conn.execute(select(store.users).where(U.id == row.user_id)).first()
            if user is None or user.disabled:
                return None
            principal = self._principal(conn, user, "token")
        if row.last_used_at is None or now - row.last_used_at > _SEEN_GRANULARITY:
            with self.deps.db.write() as wconn:
                wconn.execute(update(store.api_tokens).where(T.id == row.id).values(last_used_at=now))
        return principal

    # ---------------------------------------------------------------- login

    def _user_by_name(self, conn: Connection, username: str) -> DbRow | None:
        return conn.execute(select(store.users).where(U.username == username.lower())).first()

    def login(self, username: str, password: str, totp: str | None, client: str) -> NewSession:
        now = self.deps.clock.now()
        with self.deps.db.read() as conn:
            user = self._user_by_name(conn, username)
        if user is None or user.kind != "person":
            self.passwords.verify(None, password)
            self._login_failed(None, username, "unknown_user")
            raise Unauthorized("login_failed")
        # The password is checked before the account's state is looked at, so the answer
        # time does not tell a disabled or locked account from an active one.
        password_ok = self.passwords.verify(user.password_hash, password)
        if user.disabled:
            self._login_failed(user, username, "disabled", count=False)
            raise Unauthorized("login_failed")
        if user.locked_until is not None and user.locked_until > now:
            self._login_failed(user, username, "locked", count=False)
            raise self._locked(user.locked_until)
        if not password_ok:
            self._login_failed(user, username, "bad_password")
            raise Unauthorized("login_failed")
        step: int | None = None
        if user.totp_enabled:
            if not totp:
                self._login_failed(user, username, "mfa_code_required", count=False)
                raise Unauthorized("mfa_required", extra={"mfa_required": True})
            step = self._totp_step(user, totp)
            if step is None:
                self._login_failed(user, username, "bad_totp")
                raise Unauthorized("login_failed")
        return self._open_session(user, step, client, now)

    @staticmethod
    def _locked(until: datetime) -> Locked:
        return Locked(
            "account_locked", params={"until": until.isoformat()}, extra={"locked_until": until.isoformat()}
        )

    def _totp_step(self, user: DbRow, code: str) -> int | None:
        """The time step a valid, unused code belongs to (replays are refused)."""
        secret = self.deps.box.open(bytes(user.totp_secret), _totp_context(user.id)).decode()
        totp = pyotp.TOTP(secret)
        now = self.deps.clock.now()
        for offset in (0, -1, 1):
            moment = now + timedelta(seconds=30 * offset)
            if hmac.compare_digest(totp.at(moment), code.strip()):
                step = int(moment.timestamp()) // 30
                return step if step > user.totp_last_step else None
        return None

    def _login_failed(self, user: DbRow | None, username: str, reason: str, count: bool = True) -> None:
        """Record a refused sign-in; counted refusals lock the account at the threshold.

        The counter is incremented in SQL, not read-modify-written, so concurrent guesses
        cannot overwrite each other's count and slip past the lockout.
        """
        actor = (
            Actor("user", user.id, user.username, user.home_node_id)
            if user is not None
            else Actor("user", "anonymous", username[:64])
        )
        now = self.deps.clock.now()
        with self.deps.uow(actor) as uow:
            details: dict[str, Any] = {"reason": reason}
            if user is not None and count:
                failures = uow.conn.execute(
                    update(store.users)
                    .where(U.id == user.id)
                    .values(failed_logins=U.failed_logins + 1, updated_at=now)
                    .returning(U.failed_logins)
                ).scalar_one()
                if failures >= self.auth.lockout_threshold:
                    until = now + timedelta(minutes=self.auth.lockout_minutes)
                    uow.conn.execute(
                        update(store.users).where(U.id == user.id).values(failed_logins=0, locked_until=until)
                    )
                    details["locked_until"] = until.isoformat()
            uow.audit(
                "auth.login",
                object_type="user",
                object_id=user.id if user is not None else "",
                scope=user.home_node_id if user is not None else "",
                outcome="failure",
                details=details,
            )
            if "locked_until" in details:
                uow.audit(
                    "auth.lockout",
                    object_type="user",
                    object_id=user.id if user else "",
                    scope=user.home_node_id if user else "",
                    details=details,
                )
            uow.commit()

    def _open_session(self, user: DbRow, step: int | None, client: str, now: datetime) -> NewSession:
        token, lookup = new_token(SESSION_PREFIX)
        csrf = secrets.token_urlsafe(32)
        expires = now + timedelta(hours=self.deps.settings.server.session_max_hours)
        actor = Actor("user", user.id, user.username, user.home_node_id)
        with self.deps.uow(actor) as uow:
            conn = uow.conn
            pending = not user.totp_enabled and self._requires_mfa(conn, user.id)
            values: dict[str, Any] = {"failed_logins": 0, "updated_at": now}
            guard = [
                U.id == user.id,
                U.disabled.is_(False),
                or_(U.locked_until.is_(None), U.locked_until <= now),
            ]
            if step is not None:
                # Single use, even under concurrency: only one sign-in can move the step on.
                values["totp_last_step"] = step
                guard.append(U.totp_last_step < step)
            opened = conn.execute(
                update(store.users).where(and_(*guard)).values(**values).returning(U.id)
            ).first()
            if opened is None:
                raise Unauthorized("login_failed")
            conn.execute(
                insert(store.sessions).values(
                    id=lookup,
                    token_hash=token_digest(token),
                    user_id=user.id,
                    csrf_token=csrf,
                    mfa_pending=pending,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires,
                    revoked_at=None,
                    client=client[:300],
                )
            )
            uow.audit(
                "auth.login",
                object_type="user",
                object_id=user.id,
                scope=user.home_node_id,
                details={"session": lookup, "mfa": step is not None, "mfa_enrollment_required": pending},
            )
            uow.commit()
        if user.password_hash and self.passwords.needs_rehash(user.password_hash):
            log.info("password hash parameters changed; hash will be upgraded on next change")
        info = SessionInfo(lookup, csrf, pending, expires)
        response = LoginResponse(
            user=self._user_view(user), csrf_token=csrf, mfa_enrollment_required=pending, expires_at=expires
        )
        return NewSession(token, info, response)

    def logout(self, principal: Principal) -> None:
        if principal.session_id is None:
            raise Invalid("not_a_session")
        with self.deps.uow(principal.actor) as uow:
            uow.conn.execute(
                update(store.sessions)
                .where(S.id == principal.session_id)
                .values(revoked_at=self.deps.clock.now())
            )
            uow.audit(
                "auth.logout",
                object_type="user",
                object_id=principal.user_id,
                scope=principal.actor.home_node,
                details={"session": principal.session_id},
            )
            uow.commit()

    # ---------------------------------------------------------------- self-service

    def me(self, principal: Principal, mfa_pending: bool) -> MeResponse:
        with self.deps.db.read() as conn:
            user = conn.execute(select(store.users).where(U.id == principal.user_id)).one()
            bindings = conn.execute(select(store.role_bindings).where(B.user_id == principal.user_id)).all()
        return MeResponse(
            user=self._user_view(user),
            bindings=[self._binding_view(b) for b in bindings],
            permissions=principal.grants.all_permissions(),
            mfa_pending=mfa_pending,
        )

    def mfa_enroll(self, principal: Principal) -> MfaEnrollResponse:
        secret = pyotp.random_base32()
        with self.deps.uow(principal.actor) as uow:
            user = uow.conn.execute(select(store.users).where(U.id == principal.user_id)).one()
            if user.totp_enabled:
                raise Conflict("mfa_already_enabled")
            uow.conn.execute(
                update(store.users)
                .where(U.id == user.id)
                .values(
                    totp_secret=self.deps.box.seal(secret.encode(), _totp_context(user.id)),
                    updated_at=self.deps.clock.now(),
                )
            )
            uow.audit("auth.mfa.enroll", object_type="user", object_id=user.id, scope=user.home_node_id)
            uow.commit()
        uri = pyotp.TOTP(secret).provisioning_uri(name=principal.username, issuer_name="WardWatch")
        return MfaEnrollResponse(secret=secret, otpauth_uri=uri)

    def mfa_confirm(self, principal: Principal, code: str) -> None:
        with self.deps.uow(principal.actor) as uow:
            user = uow.conn.execute(select(store.users).where(U.id == principal.user_id)).one()
            if user.totp_enabled:
                raise Conflict("mfa_already_enabled")
            if user.totp_secret is None:
                raise Invalid("mfa_not_started")
            step = self._totp_step(user, code)
            if step is None:
                raise Invalid("mfa_code_invalid", extra={"field": "code"})
            confirmed = uow.conn.execute(
                update(store.users)
                .where(and_(U.id == user.id, U.totp_enabled.is_(False), U.totp_last_step < step))
                .values(totp_enabled=True, totp_last_step=step, updated_at=self.deps.clock.now())
                .returning(U.id)
            ).first()
            if confirmed is None:
                raise Invalid("mfa_code_invalid", extra={"field": "code"})
            uow.conn.execute(update(store.sessions).where(S.user_id == user.id).values(mfa_pending=False))
            uow.audit("auth.mfa.confirm", object_type="user", object_id=user.id, scope=user.home_node_id)
            uow.commit()

    def change_password(self, principal: Principal, cmd: PasswordChange) -> None:
        new = cmd.new_password.get_secret_value()
        with self.deps.uow(principal.actor) as uow:
            user = uow.conn.execute(select(store.users).where(U.id == principal.user_id)).one()
            if not self.passwords.verify(user.password_hash, cmd.current_password.get_secret_value()):
                raise Invalid("password_wrong", extra={"field": "current_password"})
            self._check_password(new, user.username)
            now = self.deps.clock.now()
            uow.conn.execute(
                update(store.users)
                .where(U.id == user.id)
                .values(password_hash=self.passwords.hash(new), updated_at=now)
            )
            # Other sessions of this account end: a changed password means a new start.
            uow.conn.execute(
                update(store.sessions)
                .where(
                    and_(S.user_id == user.id, S.id != (principal.session_id or ""), S.revoked_at.is_(None))
                )
                .values(revoked_at=now)
            )
            uow.audit("auth.password.change", object_type="user", object_id=user.id, scope=user.home_node_id)
            uow.commit()

    def set_locale(self, principal: Principal, locale: str) -> None:
        with self.deps.uow(principal.actor) as uow:
            uow.conn.execute(
                update(store.users)
                .where(U.id == principal.user_id)
                .values(locale=locale, updated_at=self.deps.clock.now())
            )
            uow.audit(
                "account.locale",
                object_type="user",
                object_id=principal.user_id,
                scope=principal.actor.home_node,
                details={"locale": locale},
            )
            uow.commit()

    def _check_password(self, password: str, username: str) -> None:
        problems = password_problems(password, username, self.auth.password_min_length)
        if problems:
            raise Invalid(
                "password_weak",
                params={"min": self.auth.password_min_length},
                extra={"field": "password", "reasons": problems},
            )

    def activate(self, cmd: Activation) -> None:
        """Set the first password of a provisioned account with its one-time code."""
        now = self.deps.clock.now()
        with self.deps.db.read() as conn:
            user = self._user_by_name(conn, cmd.username)
            activation = (
                conn.execute(select(store.activations).where(store.activations.c.user_id == user.id)).first()
                if user is not None
                else None
            )
        valid = (
            user is not None
            and not user.disabled
            and activation is not None
            and now < activation.expires_at
            and (user.locked_until is None or user.locked_until <= now)
            and hmac.compare_digest(bytes(activation.code_hash), token_digest(cmd.code.get_secret_value()))
        )
        if not valid:
            self._login_failed(user, cmd.username, "bad_activation")
            raise Unauthorized("activation_failed")
        assert user is not None
        password = cmd.password.get_secret_value()
        self._check_password(password, user.username)
        with self.deps.uow(Actor("user", user.id, user.username, user.home_node_id)) as uow:
            uow.conn.execute(
                update(store.users)
                .where(U.id == user.id)
                .values(password_hash=self.passwords.hash(password), failed_logins=0, updated_at=now)
            )
            uow.conn.execute(store.activations.delete().where(store.activations.c.user_id == user.id))
            uow.audit("account.activate", object_type="user", object_id=user.id, scope=user.home_node_id)
            uow.commit()

    # ---------------------------------------------------------------- API tokens

    def create_token(self, principal: Principal, cmd: TokenCreate) -> TokenCreated:
        token, lookup = new_token(TOKEN_PREFIX)
        now = self.deps.clock.now()
        expires = now + timedelta(days=cmd.expires_in_days) if cmd.expires_in_days else None
        with self.deps.uow(principal.actor) as uow:
            uow.conn.execute(
                insert(store.api_tokens).values(
                    id=lookup,
                    token_hash=token_digest(token),
                    user_id=principal.user_id,
                    name=cmd.name,
                    created_at=now,
                    expires_at=expires,
                )
            )
            uow.audit(
                "auth.token.create",
                object_type="api_token",
                object_id=lookup,
                scope=principal.actor.home_node,
                details={"name": cmd.name},
            )
            uow.commit()
        return TokenCreated(
            id=lookup,
            name=cmd.name,
            created_at=now,
            expires_at=expires,
            last_used_at=None,
            revoked=False,
            token=token,
        )

    def list_tokens(self, principal: Principal) -> list[TokenView]:
        with self.deps.db.read() as conn:
            rows = conn.execute(
                select(store.api_tokens).where(T.user_id == principal.user_id).order_by(T.created_at)
            ).all()
        return [
            TokenView(
                id=r.id,
                name=r.name,
                created_at=r.created_at,
                expires_at=r.expires_at,
                last_used_at=r.last_used_at,
                revoked=r.revoked_at is not None,
            )
            for r in rows
        ]

    def revoke_token(self, principal: Principal, token_id: str) -> None:
        with self.deps.uow(principal.actor) as uow:
            row = uow.conn.execute(
                select(store.api_tokens).where(and_(T.id == token_id, T.user_id == principal.user_id))
            ).first()
            if row is None:
                raise NotFound("not_found", params={"object": "api_token"})
            uow.conn.execute(
                update(store.api_tokens).where(T.id == token_id).values(revoked_at=self.deps.clock.now())
            )
            uow.audit(
                "auth.token.revoke",
                object_type="api_token",
                object_id=token_id,
                scope=principal.actor.home_node,
            )
            uow.commit()

    # ---------------------------------------------------------------- users

    def _user_view(self, user: DbRow) -> UserView:
        now = self.deps.clock.now()
        return UserView(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            kind=user.kind,
            email=user.email,
            phone=user.phone,
            home_node_id=user.home_node_id,
            locale=user.locale,
            mfa_enabled=user.totp_enabled,
            locked=user.locked_until is not None and user.locked_until > now,
            disabled=user.disabled,
            activated=user.password_hash is not None,
        )

    def _user_in_scope(self, conn: Connection, principal: Principal, user_id: str, permission: str) -> DbRow:
        user = conn.execute(select(store.users).where(U.id == user_id)).first()
        if user is None:
            raise NotFound("not_found", params={"object": "user"})
        path = self.registry.paths_of(conn, [user.home_node_id]).get(user.home_node_id, "")
        principal.require(permission, path, object_type="user", object_id=user.id, node_id=user.home_node_id)
        return user

    def list_users(self, principal: Principal) -> list[UserView]:
        with self.deps.db.read() as conn:
            visible = self.registry.visible_node_ids(conn, principal, "account.read")
            rows = (
                conn.execute(
                    select(store.users).where(U.home_node_id.in_(visible)).order_by(U.username)
                ).all()
                if visible
                else []
            )
        return [self._user_view(r) for r in rows]

    def get_user(self, principal: Principal, user_id: str) -> UserView:
        with self.deps.db.read() as conn:
            user = conn.execute(select(store.users).where(U.id == user_id)).first()
            if user is None:
                raise NotFound("not_found", params={"object": "user"})
            path = self.registry.paths_of(conn, [user.home_node_id]).get(user.home_node_id, "")
            principal.require_visible("account.read", path, object_type="user")
            return self._user_view(user)

    def unlock_user(self, principal: Principal, user_id: str) -> UserView:
        return self._manage_user(
            principal, user_id, "account.unlock", {"locked_until": None, "failed_logins": 0}
        )

    def disable_user(self, principal: Principal, user_id: str) -> UserView:
        if user_id == principal.user_id:
            raise Invalid("cannot_disable_self")
        return self._manage_user(principal, user_id, "account.disable", {"disabled": True})

    def enable_user(self, principal: Principal, user_id: str) -> UserView:
        return self._manage_user(principal, user_id, "account.enable", {"disabled": False})

    def _manage_user(
        self, principal: Principal, user_id: str, action: str, values: dict[str, Any]
    ) -> UserView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            user = self._user_in_scope(uow.conn, principal, user_id, "account.manage")
            uow.conn.execute(update(store.users).where(U.id == user.id).values(**values, updated_at=now))
            if values.get("disabled"):
                uow.conn.execute(
                    update(store.sessions)
                    .where(and_(S.user_id == user.id, S.revoked_at.is_(None)))
                    .values(revoked_at=now)
                )
            uow.audit(action, object_type="user", object_id=user.id, scope=user.home_node_id)
            uow.commit()
        return self.get_user(principal, user_id)

    # ---------------------------------------------------------------- roles and bindings

    def role_views(self) -> list[RoleView]:
        required = set(self.auth.mfa_required_roles)
        return [
            RoleView(
                name=name,
                permissions=sorted(self.roles.permissions_of(name)),
                requires_mfa=name in required,
                device=name in DEVICE_ROLES,
            )
            for name in self.roles.names()
        ]

    @staticmethod
    def _binding_view(row: DbRow) -> BindingView:
        return BindingView(
            id=row.id,
            user_id=row.user_id,
            node_id=row.node_id,
            role=row.role,
            permission=row.permission,
            effect=row.effect,
            granted_by=row.granted_by,
            created_at=row.created_at,
        )

    def list_bindings(
        self, principal: Principal, node_id: str | None, user_id: str | None
    ) -> list[BindingView]:
        with self.deps.db.read() as conn:
            visible = self.registry.visible_node_ids(conn, principal, "account.read")
            if not visible:
                return []
            query = select(store.role_bindings).where(B.node_id.in_(visible))
            if node_id is not None:
                query = query.where(B.node_id == node_id)
            if user_id is not None:
                query = query.where(B.user_id == user_id)
            rows = conn.execute(query.order_by(B.created_at)).all()
        return [self._binding_view(r) for r in rows]

    def _delegable(self, role: str | None, permission: str | None) -> frozenset[str]:
        if role is not None:
            if role not in self.roles:
                raise Invalid("role_unknown", params={"role": role}, extra={"field": "role"})
            return self.roles.permissions_of(role)
        if permission not in PERMISSIONS:
            raise Invalid(
                "permission_unknown", params={"permission": permission or ""}, extra={"field": "permission"}
            )
        return frozenset({permission})

    def _check_delegation(self, principal: Principal, permissions: frozenset[str], node_path: str) -> None:
        missing = over_delegation(principal.grants, permissions, node_path)
        if missing:
            raise Forbidden(
                "over_delegation", params={"permissions": ", ".join(missing)}, extra={"missing": missing}
            )

    @staticmethod
    def _check_account_kind(kind: str, role: str | None) -> None:
        if role is None:
            return
        if (role in DEVICE_ROLES) != (kind == "device"):
            raise Invalid("role_account_kind", params={"role": role}, extra={"field": "role"})

    def grant(self, principal: Principal, cmd: BindingCreate) -> BindingView:
        """Delegate a role (or deny a permission) at a node the granter holds it on."""
        permissions = self._delegable(cmd.role, cmd.permission)
        now = self.deps.clock.now()
        binding_id = new_id()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            node = self.registry.require_node(conn, principal, cmd.node_id, "role.grant", "org_node")
            user = self._user_in_scope(conn, principal, cmd.user_id, "account.read")
            self._check_account_kind(user.kind, cmd.role)
            self._check_delegation(principal, permissions, node.path)
            conn.execute(
                insert(store.role_bindings).values(
                    id=binding_id,
                    user_id=user.id,
                    node_id=node.id,
                    role=cmd.role,
                    permission=cmd.permission,
                    effect=cmd.effect,
                    granted_by=principal.user_id,
                    created_at=now,
                )
            )
            uow.audit(
                "role.grant",
                object_type="role_binding",
                object_id=binding_id,
                scope=node.id,
                details={
                    "user_id": user.id,
                    "role": cmd.role,
                    "permission": cmd.permission,
                    "effect": cmd.effect,
                },
            )
            uow.commit()
            row = conn.execute(select(store.role_bindings).where(B.id == binding_id)).one()
        return self._binding_view(row)

    def revoke(self, principal: Principal, binding_id: str) -> None:
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = conn.execute(select(store.role_bindings).where(B.id == binding_id)).first()
            if row is None:
                raise NotFound("not_found", params={"object": "role_binding"})
            path = self.registry.paths_of(conn, [row.node_id]).get(row.node_id, "")
            principal.require(
                "role.grant", path, object_type="role_binding", object_id=row.id, node_id=row.node_id
            )
            if row.user_id == principal.user_id:
                # Nobody lifts a deny placed on them, or edits their own grants.
                raise Forbidden("own_bindings")
            # Taking a binding away is as strong as handing it out: the same rule applies.
            self._check_delegation(principal, self._delegable(row.role, row.permission), path)
            conn.execute(store.role_bindings.delete().where(B.id == row.id))
            uow.audit(
                "role.revoke",
                object_type="role_binding",
                object_id=row.id,
                scope=row.node_id,
                details={
                    "user_id": row.user_id,
                    "role": row.role,
                    "permission": row.permission,
                    "effect": row.effect,
                },
            )
            uow.commit()

    # ---------------------------------------------------------------- provisioning

    @staticmethod
    def _request_view(row: DbRow) -> AccountRequestView:
        return AccountRequestView(**{k: row._mapping[k] for k in AccountRequestView.model_fields})

    def request_account(self, principal: Principal, cmd: AccountRequestCreate) -> AccountRequestView:
        """Step 1: a supervisor asks for a personal account with a role at a node."""
        permissions = self._delegable(cmd.role, None)
        self._check_account_kind("person", cmd.role)
        now = self.deps.clock.now()
        request_id = new_id()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            node = self.registry.require_node(conn, principal, cmd.node_id, "account.request", "org_node")
            self._check_request_authority(conn, principal, node.path)
            self._check_delegation(principal, permissions, node.path)
            self._check_username_free(conn, cmd.username)
            conn.execute(
                insert(store.account_requests).values(
                    id=request_id,
                    requested_by=principal.user_id,
                    node_id=node.id,
                    role=cmd.role,
                    username=cmd.username,
                    display_name=cmd.display_name,
                    email=cmd.email,
                    phone=cmd.phone,
                    justification=cmd.justification,
                    status="pending",
                    created_at=now,
                    decision_note="",
                )
            )
            uow.audit(
                "account.request",
                object_type="account_request",
                object_id=request_id,
                scope=node.id,
                details={"username": cmd.username, "role": cmd.role},
            )
            uow.emit("authz.account_request.created", {"id": request_id, "node_id": node.id}, key=request_id)
            uow.commit()
            row = conn.execute(select(store.account_requests).where(R.id == request_id)).one()
        return self._request_view(row)

    def _check_request_authority(self, conn: Connection, principal: Principal, node_path: str) -> None:
        """Accounts are requested by a province or ministry, as the guidance sets out."""
        for binding in principal.grants.bindings:
            if binding.effect != "allow" or not binding.covers(node_path):
                continue
            if "account.request" not in binding.permissions(self.roles):
                continue
            node = self.registry.node(conn, binding.node_id)
            if node is not None and node.kind in REQUESTING_LEVELS:
                return
        raise Forbidden("request_authority_level")

    def _check_username_free(self, conn: Connection, username: str) -> None:
        taken = conn.execute(select(U.id).where(U.username == username)).first()
        pending = conn.execute(
            select(R.id).where(and_(R.username == username, R.status == "pending"))
        ).first()
        if taken is not None or pending is not None:
            raise Conflict("username_taken", params={"username": username}, extra={"field": "username"})

    def _request_in_scope(
        self, conn: Connection, principal: Principal, request_id: str, permission: str
    ) -> DbRow:
        row = conn.execute(select(store.account_requests).where(R.id == request_id)).first()
        if row is None:
            raise NotFound("not_found", params={"object": "account_request"})
        path = self.registry.paths_of(conn, [row.node_id]).get(row.node_id, "")
        principal.require(
            permission, path, object_type="account_request", object_id=row.id, node_id=row.node_id
        )
        return row

    def list_requests(self, principal: Principal, status: str | None) -> list[AccountRequestView]:
        with self.deps.db.read() as conn:
            visible = set(self.registry.visible_node_ids(conn, principal, "account.read"))
            visible |= set(self.registry.visible_node_ids(conn, principal, "account.request"))
            if not visible:
                return []
            query = select(store.account_requests).where(R.node_id.in_(sorted(visible)))
            if status is not None:
                query = query.where(R.status == status)
            rows = conn.execute(query.order_by(R.created_at.desc())).all()
        return [self._request_view(r) for r in rows]

    def get_request(self, principal: Principal, request_id: str) -> AccountRequestView:
        with self.deps.db.read() as conn:
            row = conn.execute(select(store.account_requests).where(R.id == request_id)).first()
            if row is None:
                raise NotFound("not_found", params={"object": "account_request"})
            path = self.registry.paths_of(conn, [row.node_id]).get(row.node_id, "")
            if not (principal.can("account.read", path) or principal.can("account.request", path)):
                raise NotFound("not_found", params={"object": "account_request"})
            return self._request_view(row)

    def approve(self, principal: Principal, request_id: str, note: str) -> ApprovalResult:
        """Step 2a: an account administrator over the node approves; the account is created."""
        now = self.deps.clock.now()
        code = secrets.token_urlsafe(12)
        expires = now + timedelta(hours=self.auth.activation_hours)
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = self._request_in_scope(conn, principal, request_id, "account.provision")
            self._check_pending(row, principal)
            self._check_requester_still_entitled(conn, row)
            if conn.execute(select(U.id).where(U.username == row.username)).first():
                raise Conflict("username_taken", params={"username": row.username})
            user_id = new_id()
            self._insert_user(
                conn,
                user_id,
                row.username,
                row.display_name,
                "person",
                row.node_id,
                None,
                now,
                email=row.email,
                phone=row.phone,
            )
            conn.execute(
                insert(store.role_bindings).values(
                    id=new_id(),
                    user_id=user_id,
                    node_id=row.node_id,
                    role=row.role,
                    permission=None,
                    effect="allow",
                    granted_by=row.requested_by,
                    created_at=now,
                )
            )
            conn.execute(
                insert(store.activations).values(
                    user_id=user_id, code_hash=token_digest(code), expires_at=expires
                )
            )
            conn.execute(
                update(store.account_requests)
                .where(R.id == row.id)
                .values(
                    status="approved",
                    decided_by=principal.user_id,
                    decided_at=now,
                    decision_note=note,
                    user_id=user_id,
                )
            )
            uow.audit(
                "account.approve",
                object_type="account_request",
                object_id=row.id,
                scope=row.node_id,
                details={"user_id": user_id, "username": row.username, "role": row.role},
            )
            uow.audit(
                "account.create",
                object_type="user",
                object_id=user_id,
                scope=row.node_id,
                details={"username": row.username, "role": row.role},
            )
            uow.emit("authz.account.created", {"user_id": user_id, "node_id": row.node_id}, key=user_id)
            uow.commit()
            updated = conn.execute(select(store.account_requests).where(R.id == row.id)).one()
        return ApprovalResult(
            request=self._request_view(updated),
            user_id=user_id,
            activation_code=code,
            activation_expires_at=expires,
        )

    def reject(self, principal: Principal, request_id: str, note: str) -> AccountRequestView:
        """Step 2b: the request is refused, with a reason."""
        if not note.strip():
            raise Invalid("note_required", extra={"field": "note"})
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = self._request_in_scope(conn, principal, request_id, "account.provision")
            self._check_pending(row, principal)
            conn.execute(
                update(store.account_requests)
                .where(R.id == row.id)
                .values(
                    status="rejected",
                    decided_by=principal.user_id,
                    decided_at=self.deps.clock.now(),
                    decision_note=note,
                )
            )
            uow.audit(
                "account.reject",
                object_type="account_request",
                object_id=row.id,
                scope=row.node_id,
                details={"note": note},
            )
            uow.commit()
            updated = conn.execute(select(store.account_requests).where(R.id == row.id)).one()
        return self._request_view(updated)

    def _check_requester_still_entitled(self, conn: Connection, row: DbRow) -> None:
        """The request delegates the requester's rights: they must still hold them now."""
        requester = conn.execute(select(store.users).where(U.id == row.requested_by)).first()
        path = self.registry.paths_of(conn, [row.node_id]).get(row.node_id, "")
        if requester is None or requester.disabled:
            raise Forbidden("requester_lacks_rights", params={"permissions": "-"})
        grants = self._principal(conn, requester, "system").grants
        missing = over_delegation(grants, self.roles.permissions_of(row.role), path)
        if missing:
            raise Forbidden(
                "requester_lacks_rights",
                params={"permissions": ", ".join(missing)},
                extra={"missing": missing},
            )

    @staticmethod
    def _check_pending(row: DbRow, principal: Principal) -> None:
        if row.status != "pending":
            raise Conflict("request_decided", params={"status": row.status})
        if row.requested_by == principal.user_id:
            # Four eyes: whoever asked for an account may not also grant it.
            raise Forbidden("four_eyes")

    # ---------------------------------------------------------------- set-up

    def _insert_user(
        self,
        conn: Connection,
        user_id: str,
        username: str,
        display_name: str,
        kind: str,
        home_node_id: str,
        password_hash: str | None,
        now: datetime,
        *,
        email: str = "",
        phone: str = "",
        locale: str | None = None,
    ) -> None:
        conn.execute(
            insert(store.users).values(
                id=user_id,
                username=username.lower(),
                display_name=display_name,
                kind=kind,
                email=email,
                phone=phone,
                home_node_id=home_node_id,
                password_hash=password_hash,
                totp_secret=None,
                totp_enabled=False,
                totp_last_step=0,
                failed_logins=0,
                # An empty locale means "not chosen yet": the browser's language applies.
                locked_until=None,
                disabled=False,
                locale=locale or "",
                created_at=now,
                updated_at=now,
            )
        )

    def create_account(
        self,
        conn: Connection,
        *,
        username: str,
        display_name: str,
        password: str | None,
        home_node_id: str,
        role: str,
        kind: str = "person",
        email: str = "",
        phone: str = "",
        granted_by: str = "system",
        locale: str | None = None,
    ) -> str:
        """Create an account with one role binding inside the caller's unit of work.

        Used by ``wardwatch init`` and the demo; people otherwise arrive via provisioning.
        """
        if role not in self.roles:
            raise Invalid("role_unknown", params={"role": role})
        self._check_account_kind(kind, role)
        if password is not None:
            self._check_password(password, username)
        if conn.execute(select(U.id).where(U.username == username.lower())).first():
            raise Conflict("username_taken", params={"username": username})
        now = self.deps.clock.now()
        user_id = new_id()
        self._insert_user(
            conn,
            user_id,
            username,
            display_name,
            kind,
            home_node_id,
            self.passwords.hash(password) if password else None,
            now,
            email=email,
            phone=phone,
            locale=locale,
        )
        conn.execute(
            insert(store.role_bindings).values(
                id=new_id(),
                user_id=user_id,
                node_id=home_node_id,
                role=role,
                permission=None,
                effect="allow",
                granted_by=granted_by,
                created_at=now,
            )
        )
        return user_id

    def enroll_totp_directly(self, conn: Connection, user_id: str) -> str:
        """Enrol a TOTP secret without confirmation (demo accounts only); returns it."""
        secret = pyotp.random_base32()
        conn.execute(
            update(store.users)
            .where(U.id == user_id)
            .values(
                totp_secret=self.deps.box.seal(secret.encode(), _totp_context(user_id)), totp_enabled=True
            )
        )
        return secret

    def users_matching_name(self, username: str) -> str:
        with self.deps.db.read() as conn:
            return self.users_matching(conn, [username])[username]

    def users_matching(self, conn: Connection, usernames: list[str]) -> dict[str, str]:
        rows = conn.execute(select(U.id, U.username).where(or_(*(U.username == name for name in usernames))))
        return {r.username: r.id for r in rows}
