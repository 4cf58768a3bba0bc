"""Database models: columns, relationships and small invariants. Logic lives in services/.

Split by area; everything is re-exported here so callers import from `webapp.models`.
"""

from webapp.models.base import (  # noqa: F401
    UTCDateTime,
    utcnow,
)
from webapp.models.bookings import (  # noqa: F401
    FINAL_SYNC_STATUSES,
    Booking,
    BookingMember,
    BookingStatus,
    BusySlot,
    SyncAction,
    SyncRecord,
    SyncStatus,
    new_token,
)
from webapp.models.calendars import (  # noqa: F401
    BusyInterval,
    BusySource,
    CalendarChannel,
    CalendarConnection,
    CalendarSettings,
    CalendarStatus,
    CalendarWrite,
    CalendarWriteStatus,
    MemberCalendar,
)
from webapp.models.meetings import (  # noqa: F401
    Meeting,
    MeetingAccount,
    MeetingStatus,
)
from webapp.models.notifications import (  # noqa: F401
    DEFAULT_REMINDER_MINUTES,
    MessageKind,
    MessageStatus,
    OutboxMessage,
    PageMailSettings,
    RecipientRole,
)
from webapp.models.organizations import (  # noqa: F401
    DEFAULT_WORKING_HOURS,
    Admin,
    AttendMode,
    BookingPage,
    CancelAction,
    FieldType,
    FormField,
    Member,
    Organization,
    PageKind,
    PageMember,
    Plan,
)
from webapp.models.salesforce import (  # noqa: F401
    AuditKind,
    ConnectionStatus,
    DescribeCache,
    LoginKind,
    SalesforceAuditEvent,
    SalesforceConnection,
    SalesforceUserCache,
    SyncPause,
)
