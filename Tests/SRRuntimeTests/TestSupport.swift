import SRIR
import SRTestSupport

