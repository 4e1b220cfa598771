/**
 * The anonymous user (Flask-Login's `AnonymousUserMixin`): what `currentUser()` returns when
 * nobody is logged in, so that templates can read `user.isAuthenticated` without a null check.
 *
 * @module anonymous
 */

/** The default anonymous user: not authenticated, not active, anonymous, no id. */
export interface AnonymousUser {
  readonly isAuthenticated: false;
  readonly isActive: false;
  readonly isAnonymous: true;
  readonly id: null;
}

/** The shared, frozen default anonymous user. */
export const anonymousUser: AnonymousUser = Object.freeze({
  isAuthenticated: false,
  isActive: false,
  isAnonymous: true,
  id: null,
});
