from . import service_evaluation_session_report
