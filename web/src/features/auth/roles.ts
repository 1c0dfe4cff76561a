/** Roles, weakest first: each can do everything the ones before it can. */
import type { Role } from "../../api/types";

export const ROLES: readonly Role[] = ["viewer", "analyst", "admin"];

export const ROLE_TEXT: Record<Role, string> = {
  viewer: "read data and charts",
  analyst: "also fetch data",
  admin: "also users, everyone's API keys, deleting datasets, the audit log",
};

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/** Whether `role` includes the rights of `needed`; no role includes nothing. */
export function roleAtLeast(role: Role | null | undefined, needed: Role): boolean {
  if (role === null || role === undefined) return false;
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** The roles someone with `role` may hand out (to an API key): their own and weaker ones. */
export function rolesUpTo(role: Role): Role[] {
  return ROLES.filter((r) => roleAtLeast(role, r));
}
