"""What every registry write shares: whole-object validation, field changes, the owner rule
and the split of a change into what narrows (applied now) and what widens (proposed)."""

from django.core.exceptions import ValidationError

from identities.models import User

from ..exceptions import InvalidInput
from ..roles import ownership_refusal


def validation_error_to_invalid(exc):
    """A Django `ValidationError` as the domain's `InvalidInput`, keeping field messages."""
    if hasattr(exc, "error_dict"):
        fields = {("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
    else:
        fields = {"non_field_errors": list(exc.messages)}
    first_field, messages = next(iter(fields.items()))
    message = messages[0] if first_field == "non_field_errors" else f"{first_field}: {messages[0]}"
    return InvalidInput(message, field_errors=fields)


def save_validated(instance, *, update_fields=None):
    """`full_clean()` then save; validation errors become `InvalidInput`."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise validation_error_to_invalid(exc)
    instance.save(update_fields=update_fields)
    return instance


def apply_changes(instance, changes, allowed):
    unknown = set(changes) - set(allowed)
    if unknown:
        raise InvalidInput(
            f"These fields cannot be changed here: {', '.join(sorted(unknown))}.",
            field_errors={name: ["This field cannot be changed."] for name in sorted(unknown)},
        )
    # A new object has unset foreign keys, which cannot be read: everything is a change.
    changed = [name for name, value in changes.items() if instance._state.adding or getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, changes[name])
    return changed


def check_owners(fields, names=("control_owner", "backup_owner", "resource_owner")):
    """Refuse (400) anyone whose role forbids owning: auditors, workloads, inactive people."""
    errors = {}
    for name in names:
        refusal = ownership_refusal(fields.get(name), name.replace("_", " "))
        if refusal:
            errors[name] = [refusal]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], field_errors=errors)


def split(changes, widening):
    """(narrowing part, widening part) of `changes`."""
    return (
        {k: v for k, v in changes.items() if k not in widening},
        {k: v for k, v in changes.items() if k in widening},
    )


def reasons_text(widening):
    return " ".join(widening.values())


PEOPLE_FIELDS = ("control_owner", "backup_owner", "resource_owner")


def people_from_json(values):
    """Stored change values with people's ids turned back into people."""
    values = dict(values)
    for name in PEOPLE_FIELDS:
        if values.get(name) is not None:
            values[name] = User.objects.get(pk=values[name])
    return values
