package tinkoff

// Payment statuses of the T-Bank Acquiring API v2 (the `Status` field of
// GetState answers and notifications). The list follows providers.md §2
// (status.go of nikita-vanyasin/tinkoff and the bank's own docs); an unknown
// status must never crash the app, which is why Stage has a default.
const (
	StatusNew             = "NEW"              // Init done; the form was not opened yet.
	StatusFormShowed      = "FORM_SHOWED"      // The customer opened the payment form.
	StatusDeadlineExpired = "DEADLINE_EXPIRED" // RedirectDueDate passed before the customer paid.
	StatusCanceled        = "CANCELED"         // Cancelled by the merchant before any money moved.
	StatusPreauthorizing  = "PREAUTHORIZING"   // Card data is being checked.
	StatusAuthorizing     = "AUTHORIZING"      // The issuing bank is being asked.
	StatusAuthorized      = "AUTHORIZED"       // Money is held on the card; waits for Confirm.
	StatusAuthFail        = "AUTH_FAIL"        // Authorization failed (3-D Secure or technical).
	StatusRejected        = "REJECTED"         // The issuing bank declined the payment.
	Status3DSChecking     = "3DS_CHECKING"     // The customer is on the 3-D Secure page.
	Status3DSChecked      = "3DS_CHECKED"      // 3-D Secure passed; authorization follows.
	StatusReversing       = "REVERSING"        // A hold is being released.
	StatusPartialReversed = "PARTIAL_REVERSED" // Part of a hold was released before confirmation.
	StatusReversed        = "REVERSED"         // The whole hold was released: no money was taken.
	StatusConfirming      = "CONFIRMING"       // The hold is being captured.
	StatusConfirmed       = "CONFIRMED"        // The money was taken: the payment is paid.
	StatusRefunding       = "REFUNDING"        // A refund is in progress.
	StatusAsyncRefunding  = "ASYNC_REFUNDING"  // A refund is in progress (asynchronous, e.g. SBP).
	StatusPartialRefunded = "PARTIAL_REFUNDED" // Part of a confirmed payment was refunded.
	StatusRefunded        = "REFUNDED"         // The whole confirmed payment was refunded.
)

// Payment-record stages of the app, returned by Stage. They are the words of the
// app's payment state machine (DESIGN.md "Payment status"); this package does
// not import the app, so it repeats them as plain strings.
const (
	StagePending           = "pending"
	StageProcessing        = "processing"
	StageCompleted         = "completed"
	StageFailed            = "failed"
	StageCanceled          = "canceled"
	StageRefunded          = "refunded"
	StagePartiallyRefunded = "partially_refunded"
)

// Stage maps a bank status to the app's payment-record stage.
//
// The app must only move a payment forward (a completed payment never goes
// back to pending or processing, whatever order notifications arrive in), so
// Stage may safely answer "processing" for every non-final status.
func Stage(status string) string {
	switch status {
	case StatusNew, StatusFormShowed:
		// Nothing happened yet: the customer may still pay.
		return StagePending
	case StatusPreauthorizing, StatusAuthorizing, Status3DSChecking, Status3DSChecked,
		StatusAuthorized, StatusConfirming, StatusReversing, StatusPartialReversed:
		// AUTHORIZED means the money is only held. In a one-stage terminal
		// CONFIRMED follows within seconds; in a two-stage one (PayType "T") the
		// shop must call Confirm. PARTIAL_REVERSED keeps a smaller hold that
		// still waits for Confirm.
		return StageProcessing
	case StatusConfirmed:
		return StageCompleted
	case StatusRefunding, StatusAsyncRefunding:
		// The refund is not done yet: the money is still the shop's until
		// REFUNDED or PARTIAL_REFUNDED arrives, so the payment stays completed.
		return StageCompleted
	case StatusRejected, StatusAuthFail:
		return StageFailed
	case StatusCanceled, StatusDeadlineExpired, StatusReversed:
		// No money was taken (REVERSED releases a hold before capture).
		return StageCanceled
	case StatusPartialRefunded:
		return StagePartiallyRefunded
	case StatusRefunded:
		return StageRefunded
	default:
		// Unknown status (the bank adds new ones): not final, so ask GetState
		// again later rather than guess an outcome.
		return StageProcessing
	}
}

// IsFinal reports whether no further status change is expected without an
// action by the shop (Confirm or Cancel). Jobs use it to stop polling GetState.
func IsFinal(status string) bool {
	switch status {
	case StatusConfirmed, StatusRejected, StatusAuthFail, StatusCanceled,
		StatusDeadlineExpired, StatusReversed, StatusPartialRefunded, StatusRefunded:
		return true
	}
	return false
}

// ErrorCode is the bank's `ErrorCode` string ("0" means success).
type ErrorCode string

// Error codes the client and the sandbox use. The numbers come from the bank's
// error table (developer.tbank.ru/eacq/intro/errors/error-codes) as copied in
// public code; the ones marked [U] were not found in that table and are this
// package's choice, used consistently by the sandbox.
const (
	CodeOK                ErrorCode = "0"
	CodeMissingParams     ErrorCode = "2"    // Отсутствуют обязательные параметры.
	CodeCannotChange      ErrorCode = "4"    // Не получится изменить статус платежа.
	CodeBadTransStatus    ErrorCode = "8"    // Неверный статус транзакции.
	CodeEmptyPaymentID    ErrorCode = "201"  // Поле PaymentId не должно быть пустым.
	CodeTerminalBlocked   ErrorCode = "202"  // Терминал заблокирован.
	CodeBadToken          ErrorCode = "204"  // Неверный токен. Проверьте пару TerminalKey/SecretKey.
	CodeTerminalNotFound  ErrorCode = "205"  // Неверный токен... Указанный терминал не найден.
	CodeBadAmount         ErrorCode = "251"  // Неверная сумма.
	CodeCardExpired       ErrorCode = "252"  // Срок действия карты истек.
	CodePaymentNotFound   ErrorCode = "255"  // Платеж не найден. [U]: cited by secondary sources only.
	CodeBankDeclined      ErrorCode = "1005" // Платеж отклонен банком, выпустившим карту.
	CodeInsufficientFunds ErrorCode = "1051" // Недостаточно средств на карте.
	CodeBadCVV            ErrorCode = "1082" // Неверный CVV.
	CodeInternal          ErrorCode = "9999" // Внутренняя ошибка системы.
)
