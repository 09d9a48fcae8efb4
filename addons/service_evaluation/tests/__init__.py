from . import test_device_api
from . import test_ingest
from . import test_report
from . import test_alerts
from . import test_security
from . import test_session_replay
from . import test_star_levels
from . import test_ui
