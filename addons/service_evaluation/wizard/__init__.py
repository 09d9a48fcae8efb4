from . import service_evaluation_session_callback
from . import service_evaluation_session_void
from . import service_evaluation_shift_correction
